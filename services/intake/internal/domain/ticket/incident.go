package ticket

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// LinkIncident links an open ticket to an incident (emergency mode): it raises the urgency to the
// incident's floor (emits updated when it moves) and hands the ticket to the emergency team's group
// (emits assigned with LinkedIncident set; the agent stays when the group does not change, so routing keeps
// them). A ticket already linked to the incident changes nothing; one linked to another incident moves to
// this one. Allowed where Assign is (open tickets).
func (t *Ticket) LinkIncident(l IncidentLink, actor Actor, now time.Time) (Change, error) {
	if l.ID == uuid.Nil || l.TeamGroupID == uuid.Nil {
		return Change{}, fmt.Errorf("link incident: id and team group are required")
	}
	if t.IncidentID == l.ID {
		return Change{}, nil
	}
	if err := t.precheck(actor, ActionAssign, StatusAssigned); err != nil {
		return Change{}, err
	}
	var ch Change
	if l.MinUrgency > t.Urgency {
		prio := DerivePriority(l.MinUrgency, t.Level)
		changed := []string{"urgency"}
		line := fmt.Sprintf("urgency: %s → %s (incident %s)", t.Urgency, l.MinUrgency, l.Number)
		if prio != t.Priority {
			changed = append(changed, "priority")
			line += fmt.Sprintf("; priority: %s → %s", t.Priority, prio)
		}
		t.Urgency, t.Priority = l.MinUrgency, prio
		up := t.record(actor, now, recordSpec{kind: EventUpdated, text: line, fill: func(e *Event) {
			e.Changed, e.Source = changed, t.ClassificationSource
		}})
		ch.Events, ch.Timeline = append(ch.Events, up.Events...), append(ch.Timeline, up.Timeline...)
	}
	prevGroup, prevAgent := t.GroupID, t.AssigneeID
	if t.GroupID != l.TeamGroupID {
		t.GroupID, t.AssigneeID = l.TeamGroupID, uuid.Nil
	}
	t.IncidentID = l.ID
	to := t.Status
	if to == StatusNew {
		to = StatusAssigned
	}
	from, to := t.move(to)
	as := t.record(actor, now, recordSpec{kind: EventAssigned, from: from, to: to, text: "linked to incident " + l.Number,
		fill: func(e *Event) {
			e.PreviousGroupID, e.PreviousAssigneeID, e.LinkedIncident = prevGroup, prevAgent, l.ID
		}})
	ch.Events, ch.Timeline = append(ch.Events, as.Events...), append(ch.Timeline, as.Timeline...)
	return ch, nil
}
