package auth

import "slices"

// TicketScope is which tickets a principal may see and change: a ticket is in scope when any clause
// matches. The zero value matches none. Services turn it into one predicate that every read and write of
// a ticket applies (intake's store: Get, List, the timeline and every update), so they never disagree; a
// ticket outside it answers NotFound, exactly like one that does not exist.
type TicketScope struct {
	// All: every ticket (admins, auditors, services).
	All bool
	// AssigneeID: tickets assigned to this staff member (their token subject; it matches only when it is
	// the agent id tickets are assigned with).
	AssigneeID string
	// GroupIDs: tickets queued in these groups (an agent's groups, a supervisor's headed groups).
	GroupIDs []string
	// Ungrouped: tickets no group holds yet, the triage queue supervisors route by hand until routing does.
	Ungrouped bool
	// SubmitterKind and SubmitterID: tickets this adapter submitted.
	SubmitterKind, SubmitterID string
}

// ScopeOf returns p's ticket scope: the union of what each of its roles sees.
func ScopeOf(p Principal) TicketScope {
	var s TicketScope
	for _, r := range p.Roles {
		switch r {
		case RoleAdmin, RoleAuditor, RoleService:
			return TicketScope{All: true}
		case RoleAgent:
			s.AssigneeID = p.ID
			s.GroupIDs = appendNew(s.GroupIDs, p.Groups)
		case RoleSupervisor:
			s.AssigneeID = p.ID
			s.GroupIDs = appendNew(s.GroupIDs, p.Groups)
			s.Ungrouped = true
		case RoleAdapter:
			s.SubmitterKind, s.SubmitterID = p.Kind, p.ID
		}
	}
	return s
}

func appendNew(to, from []string) []string {
	for _, v := range from {
		if !slices.Contains(to, v) {
			to = append(to, v)
		}
	}
	return to
}

// ScopedTicket is what a scope is decided on: a ticket's group, agent and submitter ("" for none).
type ScopedTicket struct {
	GroupID, AssigneeID        string
	SubmitterKind, SubmitterID string
}

// Admits reports whether t lies in s: the same rule intake's store applies in SQL, for services that read a
// ticket from intake and must scope their own per-ticket data (a ticket's messages at notify).
func (s TicketScope) Admits(t ScopedTicket) bool {
	switch {
	case s.All:
		return true
	case s.AssigneeID != "" && t.AssigneeID == s.AssigneeID:
		return true
	case t.GroupID != "" && slices.Contains(s.GroupIDs, t.GroupID):
		return true
	case s.Ungrouped && t.GroupID == "":
		return true
	}
	return s.SubmitterKind != "" && s.SubmitterID != "" && t.SubmitterKind == s.SubmitterKind && t.SubmitterID == s.SubmitterID
}
