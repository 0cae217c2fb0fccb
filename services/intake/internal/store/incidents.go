package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/intake/internal/domain/incident"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// ResourceIncident is the resource type NotFound errors name for incidents.
const ResourceIncident = "kefu.intake.v1.Incident"

type scopeJSON struct {
	Channels      []string  `json:"channels"`
	Subcategories []string  `json:"subcategories"`
	Keywords      []string  `json:"keywords"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
}

const incidentColumns = `incident_id, number, kind, severity, title, scope, team_group_id, commander_id, standard_answer,
	public_notice, status, declared_by, declared_at, closed_at, cause, follow_ups, suggestion_id, version`

func scanIncident(row pgx.Row) (incident.Incident, error) {
	var (
		i                 incident.Incident
		scope, followUps  []byte
		closedAt          *time.Time
		suggestion        *uuid.UUID
		kind, sev, status string
	)
	err := row.Scan(&i.ID, &i.Number, &kind, &sev, &i.Title, &scope, &i.TeamGroupID, &i.CommanderID, &i.StandardAnswer,
		&i.PublicNotice, &status, &i.DeclaredBy, &i.DeclaredAt, &closedAt, &i.Cause, &followUps, &suggestion, &i.Version)
	if err != nil {
		return i, err
	}
	i.Kind, i.Severity, i.Status = incident.Kind(kind), incident.Severity(sev), incident.Status(status)
	var sj scopeJSON
	if err := json.Unmarshal(scope, &sj); err != nil {
		return i, fmt.Errorf("incident %s scope: %w", i.ID, err)
	}
	i.Scope = incident.Scope(sj)
	if err := json.Unmarshal(followUps, &i.FollowUps); err != nil {
		return i, fmt.Errorf("incident %s follow-ups: %w", i.ID, err)
	}
	i.DeclaredAt = i.DeclaredAt.UTC()
	if closedAt != nil {
		i.ClosedAt = closedAt.UTC()
	}
	if suggestion != nil {
		i.SuggestionID = *suggestion
	}
	return i, nil
}

func incidentArgs(i incident.Incident) ([]any, error) {
	scope, err := json.Marshal(scopeJSON(i.Scope))
	if err != nil {
		return nil, err
	}
	fu := i.FollowUps
	if fu == nil {
		fu = []string{}
	}
	followUps, err := json.Marshal(fu)
	if err != nil {
		return nil, err
	}
	return []any{i.ID, i.Number, string(i.Kind), string(i.Severity), i.Title, scope, i.TeamGroupID, i.CommanderID,
		i.StandardAnswer, i.PublicNotice, string(i.Status), i.DeclaredBy, i.DeclaredAt, nullTime(i.ClosedAt), i.Cause,
		followUps, nullUUID(i.SuggestionID), i.Version}, nil
}

// IncidentTx is a transaction on incidents.
type IncidentTx struct{ tx pgx.Tx }

// InIncidentTx runs fn in a transaction (retried on serialization failures and deadlocks).
func (s *Store) InIncidentTx(ctx context.Context, fn func(ctx context.Context, tx IncidentTx) error) error {
	return s.runTx(ctx, func(*pgx.Batch) {}, func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, IncidentTx{tx}) })
}

// Claim records an idempotency claim in the transaction (see idempotency.Claim.Claim).
func (t IncidentTx) Claim(ctx context.Context, c idempotency.Claim, now time.Time) (string, error) {
	return c.Claim(ctx, t.tx, now)
}

// NextIncidentSerial draws the next serial of day, starting at 1.
func (t IncidentTx) NextIncidentSerial(ctx context.Context, day time.Time) (int64, error) {
	var n int64
	err := t.tx.QueryRow(ctx, `INSERT INTO incident_serials (day, last) VALUES ($1, 1)
		ON CONFLICT ON CONSTRAINT incident_serials_pkey DO UPDATE SET last = incident_serials.last + 1 RETURNING last`,
		pgDate(day)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("draw incident serial: %w", err)
	}
	return n, nil
}

// InsertIncident writes a new incident.
func (t IncidentTx) InsertIncident(ctx context.Context, i incident.Incident, now time.Time) error {
	a, err := incidentArgs(i)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO incidents (`+incidentColumns+`, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`, append(a, now)...)
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	return nil
}

// SaveIncident rewrites an incident's changeable columns (locked by LockIncident in this transaction).
func (t IncidentTx) SaveIncident(ctx context.Context, i incident.Incident, now time.Time) error {
	a, err := incidentArgs(i)
	if err != nil {
		return err
	}
	// a is in incidentColumns' order: 2 kind, 3 severity, 4 title, 5 scope, 6 team, 7 commander, 8 answer,
	// 9 notice, 10 status, 13 closed_at, 14 cause, 15 follow-ups, 17 version.
	_, err = t.tx.Exec(ctx, `UPDATE incidents SET kind = $2, severity = $3, title = $4, scope = $5, team_group_id = $6,
		commander_id = $7, standard_answer = $8, public_notice = $9, status = $10, closed_at = $11, cause = $12,
		follow_ups = $13, version = $14, updated_at = $15 WHERE incident_id = $1`,
		i.ID, a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[13], a[14], a[15], a[17], now)
	if err != nil {
		return fmt.Errorf("save incident: %w", err)
	}
	return nil
}

// LockIncident reads an incident for update; NotFound when absent.
func (t IncidentTx) LockIncident(ctx context.Context, id uuid.UUID) (incident.Incident, error) {
	i, err := scanIncident(t.tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE incident_id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return i, apierr.NotFound(ResourceIncident, id.String())
	}
	return i, err
}

// AddAction appends a line to the incident's timeline.
func (t IncidentTx) AddAction(ctx context.Context, id uuid.UUID, a incident.Action) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO incident_actions (incident_id, at, actor, kind, text) VALUES ($1, $2, $3, $4, $5)`,
		id, a.At, a.Actor, a.Kind, a.Text)
	if err != nil {
		return fmt.Errorf("add incident action: %w", err)
	}
	return nil
}

// AddEvents adds messages to the outbox in this transaction.
func (t IncidentTx) AddEvents(ctx context.Context, msgs ...outbox.Message) error {
	return outbox.Add(ctx, t.tx, msgs...)
}

// Audit records the request's audit record, naming the incident, in this transaction (a call without
// one, such as a consumer's, records nothing).
func (t IncidentTx) Audit(ctx context.Context, id uuid.UUID) error {
	b := &pgx.Batch{}
	if err := audit.Queue(ctx, b, "incident", id.String()); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return t.tx.SendBatch(ctx, b).Close()
}

// GetIncident reads an incident.
func (s *Store) GetIncident(ctx context.Context, id uuid.UUID) (incident.Incident, error) {
	i, err := scanIncident(s.pool.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE incident_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return i, apierr.NotFound(ResourceIncident, id.String())
	}
	return i, err
}

// ActiveIncidents reads every active incident, oldest first.
func (s *Store) ActiveIncidents(ctx context.Context) ([]incident.Incident, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE status = 'active' ORDER BY declared_at, incident_id`)
	if err != nil {
		return nil, fmt.Errorf("active incidents: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Incident, error) { return scanIncident(r) })
}

// IncidentCursor is a position in the incident list.
type IncidentCursor struct {
	T  time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// ListIncidents reads up to limit incidents after cursor (nil: the newest), newest first, only those in
// status unless it is empty.
func (s *Store) ListIncidents(ctx context.Context, status incident.Status, after *IncidentCursor, limit int) ([]incident.Incident, error) {
	a := args{limit, string(status)}
	q := `SELECT ` + incidentColumns + ` FROM incidents WHERE ($2 = '' OR status = $2)`
	if after != nil {
		q += ` AND (declared_at, incident_id) < (` + a.add(after.T) + `, ` + a.add(after.ID) + `)`
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY declared_at DESC, incident_id DESC LIMIT $1`, a...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Incident, error) { return scanIncident(r) })
}

// IncidentImpact counts an incident's linked tickets, customers (a ticket without a known customer counts
// one), channels, breaches and resolved and open tickets.
func (s *Store) IncidentImpact(ctx context.Context, id uuid.UUID) (incident.Impact, error) {
	im := incident.Impact{Channels: map[string]int64{}}
	err := s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT coalesce(customer_id, ticket_id)),
		count(*) FILTER (WHERE status IN ('resolved', 'closed', 'archived')),
		count(*) FILTER (WHERE status NOT IN ('resolved', 'closed', 'archived')),
		(SELECT breaches FROM incidents WHERE incident_id = $1)
		FROM tickets WHERE incident_id = $1`, id).Scan(&im.Tickets, &im.Customers, &im.Resolved, &im.Open, &im.Breaches)
	if err != nil {
		return im, fmt.Errorf("incident impact: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT channel, count(*) FROM tickets WHERE incident_id = $1 GROUP BY channel`, id)
	if err != nil {
		return im, fmt.Errorf("incident channels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ch string
		var n int64
		if err := rows.Scan(&ch, &n); err != nil {
			return im, err
		}
		im.Channels[ch] = n
	}
	return im, rows.Err()
}

// IncidentActions reads the incident's timeline, oldest first (the last 1,000 lines).
func (s *Store) IncidentActions(ctx context.Context, id uuid.UUID) ([]incident.Action, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, actor, kind, text FROM (SELECT id, at, actor, kind, text FROM incident_actions
		WHERE incident_id = $1 ORDER BY id DESC LIMIT 1000) a ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("incident actions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Action, error) {
		var a incident.Action
		err := r.Scan(&a.At, &a.Actor, &a.Kind, &a.Text)
		a.At = a.At.UTC()
		return a, err
	})
}

// IncidentTicketCursor is a position in an incident's ticket list.
type IncidentTicketCursor struct {
	T  time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// IncidentTickets reads up to limit of the incident's linked tickets in sc after cursor, oldest first.
func (s *Store) IncidentTickets(ctx context.Context, id uuid.UUID, sc auth.TicketScope, after *IncidentTicketCursor, limit int) ([]*ticket.Ticket, error) {
	a := args{id, limit}
	q := `SELECT ` + ticketColumns + ` FROM tickets WHERE incident_id = $1`
	if after != nil {
		q += ` AND (created_at, ticket_id) > (` + a.add(after.T) + `, ` + a.add(after.ID) + `)`
	}
	q += scopedWhere(sc, a.add)
	rows, err := s.pool.Query(ctx, q+` ORDER BY created_at, ticket_id LIMIT $2`, a...)
	if err != nil {
		return nil, fmt.Errorf("incident tickets: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*ticket.Ticket, error) { return scanTicket(r) })
}

// OpenTicketsSince reads up to limit open tickets created at or after since that no incident in skip
// holds (candidates for linking), oldest first, after the cursor.
func (s *Store) OpenTicketsSince(ctx context.Context, since time.Time, unlinkedOnly bool, after *IncidentTicketCursor, limit int) ([]*ticket.Ticket, error) {
	a := args{since, limit}
	q := `SELECT ` + ticketColumns + ` FROM tickets WHERE created_at >= $1
		AND status IN ('new', 'assigned', 'in_progress', 'pending_customer')`
	if unlinkedOnly {
		q += ` AND incident_id IS NULL`
	}
	if after != nil {
		q += ` AND (created_at, ticket_id) > (` + a.add(after.T) + `, ` + a.add(after.ID) + `)`
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY created_at, ticket_id LIMIT $2`, a...)
	if err != nil {
		return nil, fmt.Errorf("open tickets: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*ticket.Ticket, error) { return scanTicket(r) })
}

// AddBreach counts a linked ticket's SLA breach on its incident; it returns false when the ticket is
// linked to none.
func (s *Store) AddBreach(ctx context.Context, tx pgx.Tx, ticketID uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE incidents SET breaches = breaches + 1
		WHERE incident_id = (SELECT incident_id FROM tickets WHERE ticket_id = $1)`, ticketID)
	if err != nil {
		return false, fmt.Errorf("count breach: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// Announcement is an incident announcement as stored.
type Announcement struct {
	ID, IncidentID uuid.UUID
	Text           string
	Closing        bool
	Tickets        int64
	AnnouncedBy    string
	CreatedAt      time.Time
}

// InsertAnnouncement writes an announcement.
func (t IncidentTx) InsertAnnouncement(ctx context.Context, a Announcement) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO incident_announcements (announcement_id, incident_id, text, closing, tickets,
		announced_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, a.IncidentID, a.Text, a.Closing, a.Tickets, a.AnnouncedBy, a.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert announcement: %w", err)
	}
	return nil
}

// LinkedCount counts an incident's linked tickets in the transaction.
func (t IncidentTx) LinkedCount(ctx context.Context, id uuid.UUID) (int64, error) {
	var n int64
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE incident_id = $1`, id).Scan(&n)
	return n, err
}

// GetAnnouncement reads an announcement of an incident.
func (s *Store) GetAnnouncement(ctx context.Context, incidentID, id uuid.UUID) (Announcement, error) {
	var a Announcement
	err := s.pool.QueryRow(ctx, `SELECT announcement_id, incident_id, text, closing, tickets, announced_by, created_at
		FROM incident_announcements WHERE announcement_id = $1 AND incident_id = $2`, id, incidentID).
		Scan(&a.ID, &a.IncidentID, &a.Text, &a.Closing, &a.Tickets, &a.AnnouncedBy, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, apierr.NotFound("kefu.intake.v1.Announcement", id.String())
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, err
}

const compensationColumns = `compensation_id, incident_id, ticket_id, kind, amount, currency, note, state, proposed_by,
	proposed_at, decided_by, decided_at, decision_note`

func scanCompensation(r pgx.Row) (incident.Compensation, error) {
	var c incident.Compensation
	var state string
	var decided *time.Time
	err := r.Scan(&c.ID, &c.IncidentID, &c.TicketID, &c.Kind, &c.Amount, &c.Currency, &c.Note, &state, &c.ProposedBy,
		&c.ProposedAt, &c.DecidedBy, &decided, &c.DecisionNote)
	c.State, c.ProposedAt = incident.CompensationState(state), c.ProposedAt.UTC()
	if decided != nil {
		c.DecidedAt = decided.UTC()
	}
	return c, err
}

// InsertCompensation writes a proposed compensation.
func (t IncidentTx) InsertCompensation(ctx context.Context, c incident.Compensation) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO compensations (`+compensationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.IncidentID, c.TicketID, c.Kind, c.Amount, c.Currency, c.Note, string(c.State), c.ProposedBy, c.ProposedAt,
		c.DecidedBy, nullTime(c.DecidedAt), c.DecisionNote)
	if err != nil {
		return fmt.Errorf("insert compensation: %w", err)
	}
	return nil
}

// LockCompensation reads a compensation of an incident for update.
func (t IncidentTx) LockCompensation(ctx context.Context, incidentID, id uuid.UUID) (incident.Compensation, error) {
	c, err := scanCompensation(t.tx.QueryRow(ctx, `SELECT `+compensationColumns+` FROM compensations
		WHERE compensation_id = $1 AND incident_id = $2 FOR UPDATE`, id, incidentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, apierr.NotFound("kefu.intake.v1.Compensation", id.String())
	}
	return c, err
}

// SaveCompensation writes a compensation's decision.
func (t IncidentTx) SaveCompensation(ctx context.Context, c incident.Compensation) error {
	_, err := t.tx.Exec(ctx, `UPDATE compensations SET state = $2, decided_by = $3, decided_at = $4, decision_note = $5
		WHERE compensation_id = $1`, c.ID, string(c.State), c.DecidedBy, nullTime(c.DecidedAt), c.DecisionNote)
	if err != nil {
		return fmt.Errorf("save compensation: %w", err)
	}
	return nil
}

// TicketIncident reads which incident a ticket is linked to (uuid.Nil: none); NotFound when absent.
func (t IncidentTx) TicketIncident(ctx context.Context, ticketID uuid.UUID) (uuid.UUID, error) {
	var id *uuid.UUID
	err := t.tx.QueryRow(ctx, `SELECT incident_id FROM tickets WHERE ticket_id = $1`, ticketID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, apierr.NotFound(ResourceTicket, ticketID.String())
	}
	if err != nil || id == nil {
		return uuid.Nil, err
	}
	return *id, nil
}

// Compensations reads an incident's compensations, oldest first.
func (s *Store) Compensations(ctx context.Context, incidentID uuid.UUID) ([]incident.Compensation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+compensationColumns+` FROM compensations WHERE incident_id = $1
		ORDER BY proposed_at, compensation_id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("compensations: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (incident.Compensation, error) { return scanCompensation(r) })
}

// Suggestion is an incident suggestion as stored.
type Suggestion struct {
	ID                   uuid.UUID
	SurgeID              string
	Channel, Subcategory string
	Tickets              int64
	Baseline             float64
	State                string // open, declared, dismissed
	IncidentID           uuid.UUID
	CreatedAt            time.Time
}

const suggestionColumns = `suggestion_id, surge_id, channel, subcategory, tickets, baseline, state, incident_id, created_at`

func scanSuggestion(r pgx.Row) (Suggestion, error) {
	var s Suggestion
	var inc *uuid.UUID
	err := r.Scan(&s.ID, &s.SurgeID, &s.Channel, &s.Subcategory, &s.Tickets, &s.Baseline, &s.State, &inc, &s.CreatedAt)
	if inc != nil {
		s.IncidentID = *inc
	}
	s.CreatedAt = s.CreatedAt.UTC()
	return s, err
}

// InsertSuggestion writes a suggestion once per surge; inserted is false for a surge already suggested.
func (s *Store) InsertSuggestion(ctx context.Context, tx pgx.Tx, sg Suggestion) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO incident_suggestions (`+suggestionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT ON CONSTRAINT incident_suggestions_surge_key DO NOTHING`,
		sg.ID, sg.SurgeID, sg.Channel, sg.Subcategory, sg.Tickets, sg.Baseline, sg.State, nullUUID(sg.IncidentID), sg.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("insert suggestion: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Suggestions reads the latest 200 suggestions in state ("" or "all": every state), newest first.
func (s *Store) Suggestions(ctx context.Context, state string) ([]Suggestion, error) {
	if state == "all" {
		state = ""
	}
	rows, err := s.pool.Query(ctx, `SELECT `+suggestionColumns+` FROM incident_suggestions WHERE ($1 = '' OR state = $1)
		ORDER BY created_at DESC, suggestion_id DESC LIMIT 200`, state)
	if err != nil {
		return nil, fmt.Errorf("suggestions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Suggestion, error) { return scanSuggestion(r) })
}

// DecideSuggestion moves an open suggestion to state (declared with the incident, or dismissed); a
// suggestion already decided is FailedPrecondition SUGGESTION_DECIDED, an unknown one NotFound.
func (t IncidentTx) DecideSuggestion(ctx context.Context, id uuid.UUID, state string, incidentID uuid.UUID) (Suggestion, error) {
	sg, err := scanSuggestion(t.tx.QueryRow(ctx, `SELECT `+suggestionColumns+` FROM incident_suggestions
		WHERE suggestion_id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sg, apierr.NotFound("kefu.intake.v1.IncidentSuggestion", id.String())
	}
	if err != nil {
		return sg, err
	}
	if sg.State != "open" {
		return sg, apierr.FailedPrecondition(incident.ReasonSuggestionDone, "the suggestion is already "+sg.State).
			WithMeta("current_state", sg.State)
	}
	sg.State, sg.IncidentID = state, incidentID
	_, err = t.tx.Exec(ctx, `UPDATE incident_suggestions SET state = $2, incident_id = $3 WHERE suggestion_id = $1`,
		id, state, nullUUID(incidentID))
	return sg, err
}
