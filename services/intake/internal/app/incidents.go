package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/paging"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/intake/internal/domain/incident"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// MaxLinkPerCall bounds how many tickets one DeclareIncident (link_existing) or LinkTickets (all_matching)
// links: each link is its own transaction, and a call must end in reasonable time.
const MaxLinkPerCall = 5000

// IncidentView is an incident with its counts.
type IncidentView struct {
	incident.Incident
	Impact incident.Impact
}

// incidentEvent builds a kefu.incident.<kind> message for i at its current version.
func (a *App) incidentEvent(i incident.Incident, kind string, body proto.Message, actor ticket.Actor, now time.Time) (outbox.Message, error) {
	id, err := newID()
	if err != nil {
		return outbox.Message{}, err
	}
	meta := &eventsv1.EventMeta{EventId: id.String(), Source: a.cfg.Source, AggregateId: i.ID.String(), AggregateSeq: i.Version,
		OccurredAt: timestamppb.New(now), Actor: &intakev1.Actor{Kind: intakev1.ActorKind(actorKind(actor)), Id: actor.ID}}
	return outbox.NewEvent(events.Subject("incident", kind), body, meta)
}

// actorKind maps a timeline actor to the proto enum's number.
func actorKind(a ticket.Actor) int32 {
	switch a.Kind {
	case ticket.ActorAdapter:
		return int32(intakev1.ActorKind_ACTOR_KIND_ADAPTER)
	case ticket.ActorStaff:
		return int32(intakev1.ActorKind_ACTOR_KIND_STAFF)
	case ticket.ActorService:
		return int32(intakev1.ActorKind_ACTOR_KIND_SERVICE)
	}
	return int32(intakev1.ActorKind_ACTOR_KIND_SYSTEM)
}

func actorName(a ticket.Actor) string { return a.Kind + ":" + a.ID }

// DeclareIncident declares an incident (from a suggestion when inc.SuggestionID is set) and, with
// linkExisting, links the open tickets its scope matches. key and fingerprint make the call idempotent.
func (a *App) DeclareIncident(ctx context.Context, req Request, inc incident.Incident, linkExisting bool) (IncidentView, int64, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return IncidentView{}, 0, err
	}
	now := a.now()
	inc.Status, inc.DeclaredBy, inc.DeclaredAt, inc.Version = incident.Active, actorName(actor), now, 1
	if err := inc.Validate(); err != nil {
		return IncidentView{}, 0, err
	}
	if inc.ID, err = newID(); err != nil {
		return IncidentView{}, 0, err
	}
	claim := idempotency.Claim{Principal: p.String(), Scope: "declare_incident", Key: req.ID, Fingerprint: req.Fingerprint,
		ResourceID: inc.ID.String()}
	replayed := false
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		got, err := tx.Claim(ctx, claim, now)
		if err != nil {
			return err
		}
		if got != "" {
			replayed = true
			inc.ID, err = uuid.Parse(got)
			return err
		}
		serial, err := tx.NextIncidentSerial(ctx, ticket.BusinessDay(now, a.cfg.BusinessZone))
		if err != nil {
			return err
		}
		inc.Number = incident.FormatNumber(ticket.BusinessDay(now, a.cfg.BusinessZone), serial)
		if inc.SuggestionID != uuid.Nil {
			if _, err := tx.DecideSuggestion(ctx, inc.SuggestionID, "declared", inc.ID); err != nil {
				return err
			}
		}
		if err := tx.InsertIncident(ctx, inc, now); err != nil {
			return err
		}
		if err := tx.AddAction(ctx, inc.ID, incident.Action{At: now, Actor: actorName(actor), Kind: "declared",
			Text: fmt.Sprintf("%s %s: %s", strings.ToUpper(string(inc.Severity)), inc.Kind, inc.Title)}); err != nil {
			return err
		}
		m, err := a.incidentEvent(inc, "declared", &eventsv1.IncidentDeclared{Number: inc.Number,
			Kind:        protocode.Enum[intakev1.IncidentKind]("INCIDENT_KIND_", string(inc.Kind)),
			Severity:    protocode.Enum[intakev1.IncidentSeverity]("INCIDENT_SEVERITY_", string(inc.Severity)),
			TeamGroupId: inc.TeamGroupID.String(), SuggestionId: uuidString(inc.SuggestionID)}, actor, now)
		if err != nil {
			return err
		}
		if err := tx.AddEvents(ctx, m); err != nil {
			return err
		}
		return tx.Audit(ctx, inc.ID)
	})
	if err != nil {
		return IncidentView{}, 0, err
	}
	a.policy.invalidate()
	if !replayed {
		a.notify.Notify()
		if linkExisting {
			if _, _, err = a.linkMatching(ctx, inc, actor); err != nil {
				return IncidentView{}, 0, err
			}
		}
	}
	v, err := a.GetIncident(ctx, inc.ID)
	if err != nil || !linkExisting {
		return v, 0, err
	}
	// The tickets linked once linking is done, whoever linked them: the straggler sweep (LinkStragglers)
	// may take a matching ticket between the declaration's commit and linkMatching, which then skips it, so
	// counting linkMatching's own links could say 0 for tickets this declaration did link. A replay answers
	// the same way.
	return v, v.Impact.Tickets, nil
}

// GetIncident reads an incident with its counts.
func (a *App) GetIncident(ctx context.Context, id uuid.UUID) (IncidentView, error) {
	i, err := a.store.GetIncident(ctx, id)
	if err != nil {
		return IncidentView{}, err
	}
	im, err := a.store.IncidentImpact(ctx, id)
	return IncidentView{Incident: i, Impact: im}, err
}

// ListIncidents lists incidents, newest first.
func (a *App) ListIncidents(ctx context.Context, status incident.Status, size int, token string) ([]IncidentView, string, error) {
	size = paging.Size(size)
	scope := "incidents:" + string(status)
	var after *store.IncidentCursor
	if token != "" {
		after = &store.IncidentCursor{}
		if err := paging.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	is, err := a.store.ListIncidents(ctx, status, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(is) > size {
		is = is[:size]
		next = paging.Encode(store.IncidentCursor{T: is[size-1].DeclaredAt, ID: is[size-1].ID}, scope)
	}
	out := make([]IncidentView, 0, len(is))
	for _, i := range is {
		im, err := a.store.IncidentImpact(ctx, i.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, IncidentView{Incident: i, Impact: im})
	}
	return out, next, nil
}

// UpdateIncident changes the named fields of an active incident whose version is still etag.
func (a *App) UpdateIncident(ctx context.Context, id uuid.UUID, etag string, fields []string, in incident.Incident) (IncidentView, error) {
	_, actor, err := caller(ctx)
	if err != nil {
		return IncidentView{}, err
	}
	now := a.now()
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		cur, err := tx.LockIncident(ctx, id)
		if err != nil {
			return err
		}
		if strings.Trim(strings.TrimPrefix(etag, "W/"), `"`) != strconv.FormatInt(cur.Version, 10) {
			return apierr.New(apierr.KindAborted, ReasonEtagMismatch, "the incident changed since etag %q was read: read it again", etag).
				WithMeta("current_etag", strconv.FormatInt(cur.Version, 10)).WithCause(ErrEtagMismatch)
		}
		if err := cur.CheckActive(); err != nil {
			return err
		}
		for _, f := range fields {
			switch f {
			case "title":
				cur.Title = in.Title
			case "severity":
				cur.Severity = in.Severity
			case "scope":
				cur.Scope = in.Scope
			case "team_group_id":
				cur.TeamGroupID = in.TeamGroupID
			case "commander_id":
				cur.CommanderID = in.CommanderID
			case "standard_answer":
				cur.StandardAnswer = in.StandardAnswer
			case "public_notice":
				cur.PublicNotice = in.PublicNotice
			default:
				return apierr.InvalidField("update_mask", fmt.Sprintf("path %q cannot be changed", f))
			}
		}
		if err := cur.Validate(); err != nil {
			return err
		}
		cur.Version++
		if err := tx.SaveIncident(ctx, cur, now); err != nil {
			return err
		}
		if err := tx.AddAction(ctx, id, incident.Action{At: now, Actor: actorName(actor), Kind: "updated", Text: strings.Join(fields, ", ")}); err != nil {
			return err
		}
		m, err := a.incidentEvent(cur, "updated", &eventsv1.IncidentUpdated{ChangedFields: fields,
			Severity:    protocode.Enum[intakev1.IncidentSeverity]("INCIDENT_SEVERITY_", string(cur.Severity)),
			TeamGroupId: cur.TeamGroupID.String()}, actor, now)
		if err != nil {
			return err
		}
		if err := tx.AddEvents(ctx, m); err != nil {
			return err
		}
		return tx.Audit(ctx, id)
	})
	if err != nil {
		return IncidentView{}, err
	}
	a.policy.invalidate()
	a.notify.Notify()
	return a.GetIncident(ctx, id)
}

// linkFor is what linking a ticket to i does.
func linkFor(i incident.Incident) ticket.IncidentLink {
	u, _ := ticket.ParseUrgency(i.Severity.MinUrgency())
	return ticket.IncidentLink{ID: i.ID, Number: i.Number, TeamGroupID: i.TeamGroupID, MinUrgency: u}
}

// linkOne links one ticket to i in its own transaction (every ticket, whatever the caller's ticket scope:
// an incident spans groups). It reports false for a ticket that was already linked to i or is not open.
func (a *App) linkOne(ctx context.Context, ticketID uuid.UUID, i incident.Incident, actor ticket.Actor) (bool, error) {
	ctx = audit.Detach(ctx) // the call's audit record names the incident, once
	link := linkFor(i)
	now := a.now()
	changed := false
	_, err := a.store.UpdateTicket(ctx, ticketID, auth.TicketScope{All: true}, nil, now, func(t *ticket.Ticket) (store.Write, error) {
		before := classificationOf(t)
		ch, err := t.LinkIncident(link, actor, now)
		if err != nil || ch.Empty() {
			return store.Write{}, err
		}
		changed = true
		return a.buildWrite(t, ch, changeContext{before: before})
	})
	if err != nil {
		var e *apierr.Error
		if errors.As(err, &e) && (e.Kind == apierr.KindFailedPrecondition || e.Kind == apierr.KindNotFound) {
			return false, nil // closed or gone meanwhile: skipped, not a failure of the whole call
		}
		return false, err
	}
	return changed, nil
}

// linkMatching links up to MaxLinkPerCall open tickets, not linked to any incident, that i's scope
// matches; it returns how many it linked and how many candidates it looked at.
func (a *App) linkMatching(ctx context.Context, i incident.Incident, actor ticket.Actor) (linked, seen int64, err error) {
	var after *store.IncidentTicketCursor
	for linked < MaxLinkPerCall {
		ts, err := a.store.OpenTicketsSince(ctx, i.Scope.Start, true, after, 500)
		if err != nil {
			return linked, seen, err
		}
		for _, t := range ts {
			seen++
			if !i.Scope.Matches(incidentFacts(t)) {
				continue
			}
			ok, err := a.linkOne(ctx, t.ID, i, actor)
			if err != nil {
				return linked, seen, err
			}
			if ok {
				linked++
			}
		}
		if len(ts) < 500 {
			break
		}
		last := ts[len(ts)-1]
		after = &store.IncidentTicketCursor{T: last.CreatedAt, ID: last.ID}
	}
	if linked > 0 {
		a.notify.Notify()
		err = a.recordLinked(ctx, i.ID, linked, actor)
	}
	return linked, seen, err
}

// incidentFacts are what an incident's scope matches an existing ticket on.
func incidentFacts(t *ticket.Ticket) incident.Facts {
	return incident.Facts{Channel: t.Channel.String(), Subcategory: t.Subcategory, Text: t.Subject + "\n" + t.Description,
		ReceivedAt: t.ReceivedAt}
}

// recordLinked adds the linking to the incident's timeline and publishes kefu.incident.linked.
func (a *App) recordLinked(ctx context.Context, id uuid.UUID, n int64, actor ticket.Actor) error {
	now := a.now()
	err := a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		i, err := tx.LockIncident(ctx, id)
		if err != nil {
			return err
		}
		total, err := tx.LinkedCount(ctx, id)
		if err != nil {
			return err
		}
		i.Version++
		if err := tx.SaveIncident(ctx, i, now); err != nil {
			return err
		}
		if err := tx.AddAction(ctx, id, incident.Action{At: now, Actor: actorName(actor), Kind: "linked",
			Text: fmt.Sprintf("%d tickets (%d in all)", n, total)}); err != nil {
			return err
		}
		m, err := a.incidentEvent(i, "linked", &eventsv1.IncidentLinked{Linked: n, Total: total}, actor, now)
		if err != nil {
			return err
		}
		return tx.AddEvents(ctx, m)
	})
	if err == nil {
		a.notify.Notify()
	}
	return err
}

// LinkTickets links the named open tickets (a ticket linked to another incident moves) or, with
// allMatching, every unlinked open ticket the scope matches, to an active incident.
func (a *App) LinkTickets(ctx context.Context, id uuid.UUID, ids []uuid.UUID, allMatching bool) (linked, skipped int64, err error) {
	_, actor, err := caller(ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(ids) == 0 && !allMatching {
		return 0, 0, apierr.InvalidField("ticket_ids", "name tickets, or set all_matching")
	}
	i, err := a.store.GetIncident(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	if err := i.CheckActive(); err != nil {
		return 0, 0, err
	}
	if allMatching {
		var seen int64
		linked, seen, err = a.linkMatching(ctx, i, actor)
		return linked, seen - linked, err
	}
	for _, tid := range ids {
		ok, err := a.linkOne(ctx, tid, i, actor)
		if err != nil {
			return linked, skipped, err
		}
		if ok {
			linked++
		} else {
			skipped++
		}
	}
	if linked > 0 {
		a.notify.Notify()
		err = a.recordLinked(ctx, id, linked, actor)
	}
	return linked, skipped, err
}

// IncidentTickets lists an incident's linked tickets in the caller's scope, oldest first.
func (a *App) IncidentTickets(ctx context.Context, id uuid.UUID, size int, token string) ([]*ticket.Ticket, string, error) {
	sc, err := scopeOf(ctx)
	if err != nil {
		return nil, "", err
	}
	if _, err := a.store.GetIncident(ctx, id); err != nil {
		return nil, "", err
	}
	size = paging.Size(size)
	scope := "incident_tickets:" + id.String() + ":" + fmt.Sprint(sc)
	var after *store.IncidentTicketCursor
	if token != "" {
		after = &store.IncidentTicketCursor{}
		if err := paging.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	ts, err := a.store.IncidentTickets(ctx, id, sc, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ts) > size {
		ts = ts[:size]
		next = paging.Encode(store.IncidentTicketCursor{T: ts[size-1].CreatedAt, ID: ts[size-1].ID}, scope)
	}
	return ts, next, nil
}

// AddIncidentNote adds a line to the incident's internal discussion.
func (a *App) AddIncidentNote(ctx context.Context, id uuid.UUID, text string) (incident.Action, error) {
	_, actor, err := caller(ctx)
	if err != nil {
		return incident.Action{}, err
	}
	if strings.TrimSpace(text) == "" {
		return incident.Action{}, apierr.InvalidField("text", "is required")
	}
	act := incident.Action{At: a.now(), Actor: actorName(actor), Kind: "note", Text: text}
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		if _, err := tx.LockIncident(ctx, id); err != nil {
			return err
		}
		if err := tx.AddAction(ctx, id, act); err != nil {
			return err
		}
		return tx.Audit(ctx, id)
	})
	return act, err
}

// IncidentActions reads an incident's timeline.
func (a *App) IncidentActions(ctx context.Context, id uuid.UUID) ([]incident.Action, error) {
	if _, err := a.store.GetIncident(ctx, id); err != nil {
		return nil, err
	}
	return a.store.IncidentActions(ctx, id)
}

// announce writes an announcement of i (locked in tx) and its event; it does not check that i is active
// (the closing announcement is made in the closing transaction).
func (a *App) announce(ctx context.Context, tx store.IncidentTx, i *incident.Incident, text string, closing bool,
	actor ticket.Actor, now time.Time, id uuid.UUID) (store.Announcement, error) {
	n, err := tx.LinkedCount(ctx, i.ID)
	if err != nil {
		return store.Announcement{}, err
	}
	an := store.Announcement{ID: id, IncidentID: i.ID, Text: text, Closing: closing, Tickets: n, AnnouncedBy: actorName(actor),
		CreatedAt: now}
	if err := tx.InsertAnnouncement(ctx, an); err != nil {
		return an, err
	}
	i.Version++
	if err := tx.SaveIncident(ctx, *i, now); err != nil {
		return an, err
	}
	kind := "announced"
	if closing {
		kind = "announced_closing"
	}
	if err := tx.AddAction(ctx, i.ID, incident.Action{At: now, Actor: actorName(actor), Kind: kind,
		Text: fmt.Sprintf("to the customers of %d tickets", n)}); err != nil {
		return an, err
	}
	m, err := a.incidentEvent(*i, "announced", &eventsv1.IncidentAnnounced{AnnouncementId: id.String(), Closing: closing, Tickets: n},
		actor, now)
	if err != nil {
		return an, err
	}
	return an, tx.AddEvents(ctx, m)
}

// Announce makes an announcement to every customer of an active incident's linked tickets; the notify
// service delivers it. req makes it idempotent.
func (a *App) Announce(ctx context.Context, id uuid.UUID, req Request, text string) (store.Announcement, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return store.Announcement{}, err
	}
	annID, err := newID()
	if err != nil {
		return store.Announcement{}, err
	}
	now := a.now()
	claim := idempotency.Claim{Principal: p.String(), Scope: "announce:" + id.String(), Key: req.ID, Fingerprint: req.Fingerprint,
		ResourceID: annID.String()}
	var an store.Announcement
	replayed := false
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		got, err := tx.Claim(ctx, claim, now)
		if err != nil {
			return err
		}
		if got != "" {
			replayed = true
			annID, err = uuid.Parse(got)
			return err
		}
		i, err := tx.LockIncident(ctx, id)
		if err != nil {
			return err
		}
		if err := i.CheckActive(); err != nil {
			return err
		}
		if an, err = a.announce(ctx, tx, &i, text, false, actor, now, annID); err != nil {
			return err
		}
		return tx.Audit(ctx, id)
	})
	if err != nil {
		return store.Announcement{}, err
	}
	if replayed {
		return a.store.GetAnnouncement(ctx, id, annID)
	}
	a.notify.Notify()
	return an, nil
}

// GetAnnouncement reads an announcement.
func (a *App) GetAnnouncement(ctx context.Context, incidentID, id uuid.UUID) (store.Announcement, error) {
	return a.store.GetAnnouncement(ctx, incidentID, id)
}

// Notice is an active incident's public notice.
type Notice struct {
	IncidentID uuid.UUID
	Severity   incident.Severity
	Text       string
}

// StatusNotices returns the public notices of active incidents that concern channel ("" for all), most
// severe first. They come from the policy cache, so a change on another replica shows within its TTL.
func (a *App) StatusNotices(ctx context.Context, channel string) ([]Notice, error) {
	pol, err := a.policy.get(ctx)
	if err != nil {
		return nil, err
	}
	var out []Notice
	for _, i := range pol.incidents {
		if i.PublicNotice == "" {
			continue
		}
		if channel != "" && len(i.Scope.Channels) > 0 && !slices.Contains(i.Scope.Channels, channel) {
			continue
		}
		out = append(out, Notice{IncidentID: i.ID, Severity: i.Severity, Text: i.PublicNotice})
	}
	slices.SortStableFunc(out, func(x, y Notice) int { return cmp.Compare(x.Severity, y.Severity) })
	return out, nil
}

// matchIncident returns the link of the first (most severe, then oldest) active incident whose scope takes
// a new ticket with facts f; nil when none does.
func matchIncident(active []incident.Incident, f ticket.IncidentFacts) *ticket.IncidentLink {
	for _, i := range active {
		if i.Scope.Matches(incident.Facts{Channel: f.Channel, Subcategory: f.Subcategory, Text: f.Text, ReceivedAt: f.ReceivedAt}) {
			l := linkFor(i)
			return &l
		}
	}
	return nil
}

// ProposeCompensation records a compensation offered on a ticket linked to the incident.
func (a *App) ProposeCompensation(ctx context.Context, req Request, c incident.Compensation) (incident.Compensation, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return incident.Compensation{}, err
	}
	if c.ID, err = newID(); err != nil {
		return incident.Compensation{}, err
	}
	now := a.now()
	c.State, c.ProposedBy, c.ProposedAt = incident.Proposed, actorName(actor), now
	claim := idempotency.Claim{Principal: p.String(), Scope: "compensation:" + c.IncidentID.String(), Key: req.ID,
		Fingerprint: req.Fingerprint, ResourceID: c.ID.String()}
	replayed := false
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		got, err := tx.Claim(ctx, claim, now)
		if err != nil {
			return err
		}
		if got != "" {
			replayed = true
			c.ID, err = uuid.Parse(got)
			return err
		}
		if _, err := tx.LockIncident(ctx, c.IncidentID); err != nil {
			return err
		}
		linked, err := tx.TicketIncident(ctx, c.TicketID)
		if err != nil {
			return err
		}
		if linked != c.IncidentID {
			return apierr.FailedPrecondition(incident.ReasonTicketNotLinked, "the ticket is not linked to this incident")
		}
		if err := tx.InsertCompensation(ctx, c); err != nil {
			return err
		}
		if err := tx.AddAction(ctx, c.IncidentID, incident.Action{At: now, Actor: c.ProposedBy, Kind: "compensation_proposed",
			Text: fmt.Sprintf("%s %d %s on ticket %s", c.Kind, c.Amount, c.Currency, c.TicketID)}); err != nil {
			return err
		}
		return tx.Audit(ctx, c.IncidentID)
	})
	if err != nil {
		return incident.Compensation{}, err
	}
	if replayed {
		return a.compensation(ctx, c.IncidentID, c.ID)
	}
	return c, nil
}

func (a *App) compensation(ctx context.Context, incidentID, id uuid.UUID) (incident.Compensation, error) {
	cs, err := a.store.Compensations(ctx, incidentID)
	if err != nil {
		return incident.Compensation{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return incident.Compensation{}, apierr.NotFound("kefu.intake.v1.Compensation", id.String())
}

// DecideCompensation approves or rejects a proposed compensation; its proposer cannot.
func (a *App) DecideCompensation(ctx context.Context, incidentID, id uuid.UUID, approve bool, note string) (incident.Compensation, error) {
	_, actor, err := caller(ctx)
	if err != nil {
		return incident.Compensation{}, err
	}
	now := a.now()
	var c incident.Compensation
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		if c, err = tx.LockCompensation(ctx, incidentID, id); err != nil {
			return err
		}
		if err := c.Decide(approve, actorName(actor), note, now); err != nil {
			return err
		}
		if err := tx.SaveCompensation(ctx, c); err != nil {
			return err
		}
		if err := tx.AddAction(ctx, incidentID, incident.Action{At: now, Actor: actorName(actor), Kind: "compensation_" + string(c.State),
			Text: fmt.Sprintf("%s %d %s on ticket %s", c.Kind, c.Amount, c.Currency, c.TicketID)}); err != nil {
			return err
		}
		return tx.Audit(ctx, incidentID)
	})
	return c, err
}

// Compensations lists an incident's compensations.
func (a *App) Compensations(ctx context.Context, id uuid.UUID) ([]incident.Compensation, error) {
	if _, err := a.store.GetIncident(ctx, id); err != nil {
		return nil, err
	}
	return a.store.Compensations(ctx, id)
}

// CloseResult is what closing did.
type CloseResult struct {
	Incident       IncidentView
	Resolved, Open int64
	Announcement   *store.Announcement
}

// CloseIncident closes an active incident: with resolveLinked it resolves every linked ticket that can be
// resolved (in progress or pending the customer) with summary; with closingText it announces once more;
// it records cause and follow-ups.
func (a *App) CloseIncident(ctx context.Context, id uuid.UUID, resolveLinked bool, summary, closingText, cause string,
	followUps []string) (CloseResult, error) {
	_, actor, err := caller(ctx)
	if err != nil {
		return CloseResult{}, err
	}
	if resolveLinked && strings.TrimSpace(summary) == "" {
		return CloseResult{}, apierr.InvalidField("resolution_summary", "is required with resolve_linked")
	}
	i, err := a.store.GetIncident(ctx, id)
	if err != nil {
		return CloseResult{}, err
	}
	if err := i.CheckActive(); err != nil {
		return CloseResult{}, err
	}
	var res CloseResult
	if resolveLinked {
		var after *store.IncidentTicketCursor
		for {
			ts, err := a.store.IncidentTickets(ctx, id, auth.TicketScope{All: true}, after, 500)
			if err != nil {
				return CloseResult{}, err
			}
			for _, t := range ts {
				if t.Status != ticket.StatusInProgress && t.Status != ticket.StatusPendingCustomer {
					continue
				}
				ok, err := a.resolveLinked(ctx, t.ID, summary, actor)
				if err != nil {
					return CloseResult{}, err
				}
				if ok {
					res.Resolved++
				}
			}
			if len(ts) < 500 {
				break
			}
			after = &store.IncidentTicketCursor{T: ts[len(ts)-1].CreatedAt, ID: ts[len(ts)-1].ID}
		}
	}
	now := a.now()
	annID, err := newID()
	if err != nil {
		return CloseResult{}, err
	}
	err = a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		cur, err := tx.LockIncident(ctx, id)
		if err != nil {
			return err
		}
		if err := cur.Close(cause, followUps, now); err != nil {
			return err
		}
		if err := tx.SaveIncident(ctx, cur, now); err != nil {
			return err
		}
		im, err := a.store.IncidentImpact(ctx, id)
		if err != nil {
			return err
		}
		res.Open = im.Open
		if err := tx.AddAction(ctx, id, incident.Action{At: now, Actor: actorName(actor), Kind: "closed",
			Text: fmt.Sprintf("%d tickets resolved, %d left open", res.Resolved, res.Open)}); err != nil {
			return err
		}
		m, err := a.incidentEvent(cur, "closed", &eventsv1.IncidentClosed{Resolved: res.Resolved, KeptOpen: res.Open, Linked: im.Tickets},
			actor, now)
		if err != nil {
			return err
		}
		if err := tx.AddEvents(ctx, m); err != nil {
			return err
		}
		if strings.TrimSpace(closingText) != "" {
			an, err := a.announce(ctx, tx, &cur, closingText, true, actor, now, annID)
			if err != nil {
				return err
			}
			res.Announcement = &an
		}
		return tx.Audit(ctx, id)
	})
	if err != nil {
		return CloseResult{}, err
	}
	a.policy.invalidate()
	a.notify.Notify()
	res.Incident, err = a.GetIncident(ctx, id)
	return res, err
}

// resolveLinked resolves one linked ticket for the incident's closing (every ticket, whatever the
// caller's scope); false when it could not be resolved any more.
func (a *App) resolveLinked(ctx context.Context, id uuid.UUID, summary string, actor ticket.Actor) (bool, error) {
	ctx = audit.Detach(ctx) // the call's audit record names the incident, once
	now := a.now()
	_, err := a.store.UpdateTicket(ctx, id, auth.TicketScope{All: true}, nil, now, func(t *ticket.Ticket) (store.Write, error) {
		ch, err := t.Resolve(summary, actor, now)
		if err != nil {
			return store.Write{}, err
		}
		return a.buildWrite(t, ch, changeContext{})
	})
	var e *apierr.Error
	if errors.As(err, &e) && e.Kind == apierr.KindFailedPrecondition {
		return false, nil
	}
	return err == nil, err
}

// Postmortem renders an incident's post-mortem in Markdown.
func (a *App) Postmortem(ctx context.Context, id uuid.UUID) (string, error) {
	v, err := a.GetIncident(ctx, id)
	if err != nil {
		return "", err
	}
	actions, err := a.store.IncidentActions(ctx, id)
	if err != nil {
		return "", err
	}
	comps, err := a.store.Compensations(ctx, id)
	if err != nil {
		return "", err
	}
	return incident.Postmortem(v.Incident, v.Impact, actions, comps, a.cfg.BusinessZone, a.now()), nil
}

// Suggestions lists the incident suggestions in state.
func (a *App) Suggestions(ctx context.Context, state string) ([]store.Suggestion, error) {
	if state == "" {
		state = "open"
	}
	return a.store.Suggestions(ctx, state)
}

// DismissSuggestion dismisses an open suggestion.
func (a *App) DismissSuggestion(ctx context.Context, id uuid.UUID) (store.Suggestion, error) {
	var sg store.Suggestion
	err := a.store.InIncidentTx(ctx, func(ctx context.Context, tx store.IncidentTx) error {
		var err error
		sg, err = tx.DecideSuggestion(ctx, id, "dismissed", uuid.Nil)
		return err
	})
	return sg, err
}

// Subjects of the events intake follows for incidents.
var (
	SubjectVolumeSurge = events.Subject("analytics", "volume_surge")
	SubjectSLABreached = events.Subject("sla", "breached")
)

// HandleIncidentSignal applies, in the consumer's transaction, an analytics volume surge (a suggestion
// for supervisors, once per surge, with kefu.incident.suggested) or an SLA breach (counted on the
// breached ticket's incident, if any).
func (a *App) HandleIncidentSignal(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	switch d.Subject {
	case SubjectVolumeSurge:
		var ev eventsv1.VolumeSurge
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		id, err := newID()
		if err != nil {
			return err
		}
		now := a.now()
		sg := store.Suggestion{ID: id, SurgeID: ev.GetSurgeId(), Tickets: ev.GetTickets(), Baseline: ev.GetBaseline(),
			State: "open", CreatedAt: now}
		if ev.GetDimension() == eventsv1.SurgeDimension_SURGE_DIMENSION_CHANNEL {
			sg.Channel = ev.GetValue()
		} else {
			sg.Subcategory = ev.GetValue()
		}
		inserted, err := a.store.InsertSuggestion(ctx, tx, sg)
		if err != nil || !inserted {
			return err
		}
		eventID, err := newID()
		if err != nil {
			return err
		}
		m, err := outbox.NewEvent(events.Subject("incident", "suggested"), &eventsv1.IncidentSuggested{SurgeId: sg.SurgeID},
			&eventsv1.EventMeta{EventId: eventID.String(), Source: a.cfg.Source, AggregateId: id.String(), AggregateSeq: 1,
				OccurredAt: timestamppb.New(now), Actor: &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "intake"}})
		if err != nil {
			return err
		}
		if err := outbox.Add(ctx, tx, m); err != nil {
			return err
		}
		a.notify.Notify()
		return nil
	case SubjectSLABreached:
		var ev eventsv1.SlaBreached
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		id, err := uuid.Parse(ev.GetTicketId())
		if err != nil {
			return fmt.Errorf("ticket id: %w: %w", err, events.ErrPermanent)
		}
		_, err = a.store.AddBreach(ctx, tx, id)
		return err
	}
	return nil
}

// sweepActor links tickets the incident cache missed.
var sweepActor = ticket.Actor{Kind: ticket.ActorSystem, ID: "incident-sweep"}

// LinkStragglers links the open tickets created since each active incident was declared that its scope
// takes but no submit linked: a submit on another replica reads active incidents from a cache that may lag
// behind a declaration by its TTL. It returns how many it linked.
func (a *App) LinkStragglers(ctx context.Context) (int64, error) {
	active, err := a.store.ActiveIncidents(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, i := range active {
		since := i.DeclaredAt.Add(-time.Minute)
		if i.Scope.Start.After(since) {
			since = i.Scope.Start
		}
		scoped := i
		scoped.Scope.Start = since
		n, _, err := a.linkMatching(ctx, scoped, sweepActor)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
