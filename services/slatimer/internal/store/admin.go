package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/slatimer/internal/domain/calendar"
	"kefu.dev/services/slatimer/internal/domain/sla"
)

// Reasons of the store's own errors.
const (
	ReasonPolicyCodeTaken   = "POLICY_CODE_TAKEN"
	ReasonCalendarCodeTaken = "CALENDAR_CODE_TAKEN"
)

// ---- calendars ----

// workdayJSON is a make-up day as stored; hours are seconds from local midnight.
type workdayJSON struct {
	Date  string     `json:"date"`
	Hours [][2]int64 `json:"hours"`
}

func encodeIntervals(ivs []calendar.Interval) [][2]int64 {
	out := make([][2]int64, len(ivs))
	for i, iv := range ivs {
		out[i] = [2]int64{int64(iv.Start / time.Second), int64(iv.End / time.Second)}
	}
	return out
}

func decodeIntervals(in [][2]int64) []calendar.Interval {
	out := make([]calendar.Interval, len(in))
	for i, iv := range in {
		out[i] = calendar.Interval{Start: time.Duration(iv[0]) * time.Second, End: time.Duration(iv[1]) * time.Second}
	}
	return out
}

// encodeCalendar returns the week, holidays and workdays columns.
func encodeCalendar(c calendar.Calendar) (week, holidays, workdays []byte, err error) {
	var w [7][][2]int64
	for d, ivs := range c.Week {
		w[d] = encodeIntervals(ivs)
	}
	var hs []string
	for d := range c.Holidays {
		hs = append(hs, d.String())
	}
	slices.Sort(hs)
	var wds []workdayJSON
	for d, ivs := range c.Workdays {
		wds = append(wds, workdayJSON{Date: d.String(), Hours: encodeIntervals(ivs)})
	}
	slices.SortFunc(wds, func(a, b workdayJSON) int { return cmp.Compare(a.Date, b.Date) })
	if week, err = json.Marshal(w); err != nil {
		return nil, nil, nil, err
	}
	if holidays, err = json.Marshal(hs); err != nil {
		return nil, nil, nil, err
	}
	if workdays, err = json.Marshal(wds); err != nil {
		return nil, nil, nil, err
	}
	return week, holidays, workdays, nil
}

const calendarColumns = `code, display_name, always_open, zone, week, holidays, workdays, builtin, version, created_at, updated_at`

func scanCalendar(row pgx.Row) (sla.NamedCalendar, error) {
	var (
		c                        sla.NamedCalendar
		zone                     string
		week, holidays, workdays []byte
	)
	if err := row.Scan(&c.Code, &c.Name, &c.Calendar.AlwaysOpen, &zone, &week, &holidays, &workdays, &c.Builtin,
		&c.Version, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return c, fmt.Errorf("calendar %s: zone %q: %w", c.Code, zone, err)
	}
	c.Calendar.Zone = loc
	var w [7][][2]int64
	if err := json.Unmarshal(week, &w); err != nil && len(week) > 2 {
		return c, fmt.Errorf("calendar %s: week: %w", c.Code, err)
	}
	for d := range w {
		c.Calendar.Week[d] = decodeIntervals(w[d])
	}
	var hs []string
	if err := json.Unmarshal(holidays, &hs); err != nil {
		return c, fmt.Errorf("calendar %s: holidays: %w", c.Code, err)
	}
	c.Calendar.Holidays = map[calendar.Date]bool{}
	for _, h := range hs {
		d, err := calendar.ParseDate(h)
		if err != nil {
			return c, err
		}
		c.Calendar.Holidays[d] = true
	}
	var wds []workdayJSON
	if err := json.Unmarshal(workdays, &wds); err != nil {
		return c, fmt.Errorf("calendar %s: workdays: %w", c.Code, err)
	}
	c.Calendar.Workdays = map[calendar.Date][]calendar.Interval{}
	for _, wd := range wds {
		d, err := calendar.ParseDate(wd.Date)
		if err != nil {
			return c, err
		}
		c.Calendar.Workdays[d] = decodeIntervals(wd.Hours)
	}
	return c, nil
}

func (t *Tx) insertCalendar(ctx context.Context, c sla.NamedCalendar, ignoreExisting bool) error {
	week, holidays, workdays, err := encodeCalendar(c.Calendar)
	if err != nil {
		return err
	}
	zone := "UTC"
	if c.Calendar.Zone != nil {
		zone = c.Calendar.Zone.String()
	}
	q := `INSERT INTO calendars (` + calendarColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)`
	if ignoreExisting {
		q += ` ON CONFLICT (code) DO NOTHING`
	}
	_, err = t.tx.Exec(ctx, q, c.Code, c.Name, c.Calendar.AlwaysOpen, zone, week, holidays, workdays, c.Builtin, c.CreatedAt)
	if code, ok := pgxutil.UniqueViolation(err); ok && code == "calendars_pkey" {
		return apierr.New(apierr.KindAlreadyExists, ReasonCalendarCodeTaken, "calendar.code: another calendar has this code")
	}
	if err != nil {
		return fmt.Errorf("insert calendar %s: %w", c.Code, err)
	}
	return nil
}

// Calendars lists every calendar by code.
func (s *Store) Calendars(ctx context.Context) ([]sla.NamedCalendar, error) {
	return calendars(ctx, s.pool)
}

// Calendars is Store.Calendars read in the transaction.
func (t *Tx) Calendars(ctx context.Context) ([]sla.NamedCalendar, error) { return calendars(ctx, t.tx) }

func calendars(ctx context.Context, q querier) ([]sla.NamedCalendar, error) {
	rows, err := q.Query(ctx, `SELECT `+calendarColumns+` FROM calendars ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list calendars: %w", err)
	}
	defer rows.Close()
	var out []sla.NamedCalendar
	for rows.Next() {
		c, err := scanCalendar(rows)
		if err != nil {
			return nil, fmt.Errorf("list calendars: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateCalendar inserts c under the idempotency claim; a retry returns the calendar the first call made.
func (s *Store) CreateCalendar(ctx context.Context, claim idempotency.Claim, c sla.NamedCalendar) (sla.NamedCalendar, error) {
	claim.ResourceID = c.Code
	var out sla.NamedCalendar
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		if claim.Key != "" {
			existing, err := claim.Claim(ctx, t.tx, c.CreatedAt)
			if err != nil {
				return err
			}
			if existing != "" {
				out, err = t.calendar(ctx, existing, false)
				return err
			}
		}
		if err := t.insertCalendar(ctx, c, false); err != nil {
			return err
		}
		var err error
		out, err = t.calendar(ctx, c.Code, false)
		return err
	})
	return out, err
}

func (t *Tx) calendar(ctx context.Context, code string, lock bool) (sla.NamedCalendar, error) {
	q := `SELECT ` + calendarColumns + ` FROM calendars WHERE code = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	c, err := scanCalendar(t.tx.QueryRow(ctx, q, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, apierr.NotFound("kefu.sla.v1.Calendar", code).WithCause(ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("read calendar %s: %w", code, err)
	}
	return c, nil
}

// Calendar reads calendar code.
func (s *Store) Calendar(ctx context.Context, code string) (sla.NamedCalendar, error) {
	var out sla.NamedCalendar
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) (err error) {
		out, err = t.calendar(ctx, code, false)
		return err
	})
	return out, err
}

// UpdateCalendar locks calendar code, lets change edit it, saves it with the next version, and then lets
// after run in the same transaction (the app moves the clocks counting in it).
func (s *Store) UpdateCalendar(ctx context.Context, code string, now time.Time, change func(c *sla.NamedCalendar) error,
	after func(ctx context.Context, t *Tx, c sla.NamedCalendar) error) (sla.NamedCalendar, error) {
	var out sla.NamedCalendar
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		c, err := t.calendar(ctx, code, true)
		if err != nil {
			return err
		}
		if err := change(&c); err != nil {
			return err
		}
		week, holidays, workdays, err := encodeCalendar(c.Calendar)
		if err != nil {
			return err
		}
		c.Version++
		c.UpdatedAt = now
		if _, err := t.tx.Exec(ctx, `UPDATE calendars SET display_name = $2, zone = $3, week = $4, holidays = $5, workdays = $6,
			version = $7, updated_at = $8 WHERE code = $1`,
			c.Code, c.Name, c.Calendar.Zone.String(), week, holidays, workdays, c.Version, now); err != nil {
			return fmt.Errorf("update calendar %s: %w", code, err)
		}
		out = c
		return after(ctx, t, c)
	})
	return out, err
}

// OpenTicketsIn returns the open tickets having an open clock counting in calendar code, after id
// (uuid.Nil: from the start), at most limit, locked.
func (t *Tx) OpenTicketsIn(ctx context.Context, code string, after uuid.UUID, limit int) ([]TicketRow, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT ticket_id FROM clocks
		WHERE calendar = $1 AND state IN ('running', 'paused') AND ticket_id > $2 ORDER BY ticket_id LIMIT $3`, code, after, limit)
	if err != nil {
		return nil, fmt.Errorf("clocks in calendar %s: %w", code, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return t.loadTickets(ctx, ids, true)
}

// querier runs reads on the pool (a connection of their own) or inside a transaction: a consumer's
// transaction must read through itself, since a second connection per transaction can exhaust the pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// EnvStamp identifies the policies and calendars as they stand: every insert or update changes a count or
// raises a version, so an equal stamp means nothing changed since it was taken.
func (s *Store) EnvStamp(ctx context.Context) (string, error) { return envStamp(ctx, s.pool) }

// EnvStamp is Store.EnvStamp read in the transaction.
func (t *Tx) EnvStamp(ctx context.Context) (string, error) { return envStamp(ctx, t.tx) }

func envStamp(ctx context.Context, q querier) (string, error) {
	var pn, pv, cn, cv int64
	err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM policies), (SELECT coalesce(sum(version), 0) FROM policies),
		(SELECT count(*) FROM calendars), (SELECT coalesce(sum(version), 0) FROM calendars)`).Scan(&pn, &pv, &cn, &cv)
	if err != nil {
		return "", fmt.Errorf("read policies' and calendars' stamp: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d.%d", pn, pv, cn, cv), nil
}

// ---- policies ----

type matchJSON struct {
	Types     []string `json:"types,omitempty"`
	Levels    []string `json:"levels,omitempty"`
	Urgencies []string `json:"urgencies,omitempty"`
	Channels  []string `json:"channels,omitempty"`
	Tiers     []string `json:"tiers,omitempty"`
}

const policyColumns = `id, code, display_name, enabled, match, targets, warnings, calendar, breach, builtin, version,
	created_at, updated_at, progress`

// progressJSON is a progress rule as stored.
type progressJSON struct {
	AfterMS        int64 `json:"after_ms"`
	EveryMS        int64 `json:"every_ms,omitempty"`
	NotifyCustomer bool  `json:"notify_customer,omitempty"`
}

// policyArgs returns p's columns in policyColumns' order.
func policyArgs(p sla.Policy) ([]any, error) {
	match, err := json.Marshal(matchJSON(p.Match))
	if err != nil {
		return nil, err
	}
	targets := map[string]int64{}
	for t, l := range p.Targets {
		targets[string(t)] = l.Milliseconds()
	}
	tj, err := json.Marshal(targets)
	if err != nil {
		return nil, err
	}
	wj, err := encodeWarnings(p.Warnings)
	if err != nil {
		return nil, err
	}
	var pj []byte // NULL: no rule
	if r := p.Progress; r != nil {
		if pj, err = json.Marshal(progressJSON{AfterMS: r.After.Milliseconds(), EveryMS: r.Every.Milliseconds(),
			NotifyCustomer: r.NotifyCustomer}); err != nil {
			return nil, err
		}
	}
	return []any{p.ID, p.Code, p.Name, p.Enabled, match, tj, wj, p.Calendar, string(p.Breach), p.Builtin, p.Version,
		p.CreatedAt, p.UpdatedAt, pj}, nil
}

func scanPolicy(row pgx.Row) (sla.Policy, error) {
	var (
		p                 sla.Policy
		match, tj, wj, pj []byte
		breach            string
	)
	if err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Enabled, &match, &tj, &wj, &p.Calendar, &breach, &p.Builtin, &p.Version,
		&p.CreatedAt, &p.UpdatedAt, &pj); err != nil {
		return p, err
	}
	if pj != nil {
		var r progressJSON
		if err := json.Unmarshal(pj, &r); err != nil {
			return p, fmt.Errorf("policy %s: progress: %w", p.Code, err)
		}
		p.Progress = &sla.ProgressRule{After: time.Duration(r.AfterMS) * time.Millisecond,
			Every: time.Duration(r.EveryMS) * time.Millisecond, NotifyCustomer: r.NotifyCustomer}
	}
	p.Breach = sla.BreachAction(breach)
	var m matchJSON
	if err := json.Unmarshal(match, &m); err != nil {
		return p, fmt.Errorf("policy %s: match: %w", p.Code, err)
	}
	p.Match = sla.Match(m)
	var targets map[string]int64
	if err := json.Unmarshal(tj, &targets); err != nil {
		return p, fmt.Errorf("policy %s: targets: %w", p.Code, err)
	}
	p.Targets = map[sla.Target]time.Duration{}
	for t, ms := range targets {
		p.Targets[sla.Target(t)] = time.Duration(ms) * time.Millisecond
	}
	var err error
	p.Warnings, err = decodeWarnings(wj)
	return p, err
}

func (t *Tx) insertPolicy(ctx context.Context, p sla.Policy, ignoreExisting bool) error {
	args, err := policyArgs(p)
	if err != nil {
		return err
	}
	q := `INSERT INTO policies (` + policyColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	if ignoreExisting {
		q += ` ON CONFLICT DO NOTHING`
	}
	_, err = t.tx.Exec(ctx, q, args...)
	if code, ok := pgxutil.UniqueViolation(err); ok && code == "policies_code_key" {
		return apierr.New(apierr.KindAlreadyExists, ReasonPolicyCodeTaken, "policy.code: another policy has this code")
	}
	if err != nil {
		return fmt.Errorf("insert policy %s: %w", p.Code, err)
	}
	return nil
}

// Policies lists every policy by code.
func (s *Store) Policies(ctx context.Context) ([]sla.Policy, error) { return policies(ctx, s.pool) }

// Policies is Store.Policies read in the transaction.
func (t *Tx) Policies(ctx context.Context) ([]sla.Policy, error) { return policies(ctx, t.tx) }

func policies(ctx context.Context, q querier) ([]sla.Policy, error) {
	rows, err := q.Query(ctx, `SELECT `+policyColumns+` FROM policies ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []sla.Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *Tx) policy(ctx context.Context, id uuid.UUID, lock bool) (sla.Policy, error) {
	q := `SELECT ` + policyColumns + ` FROM policies WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	p, err := scanPolicy(t.tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, apierr.NotFound("kefu.sla.v1.Policy", id.String()).WithCause(ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("read policy %s: %w", id, err)
	}
	return p, nil
}

// Policy reads policy id.
func (s *Store) Policy(ctx context.Context, id uuid.UUID) (sla.Policy, error) {
	var out sla.Policy
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) (err error) {
		out, err = t.policy(ctx, id, false)
		return err
	})
	return out, err
}

// CreatePolicy inserts p under the idempotency claim; a retry returns the policy the first call made.
func (s *Store) CreatePolicy(ctx context.Context, claim idempotency.Claim, p sla.Policy) (sla.Policy, error) {
	claim.ResourceID = p.ID.String()
	var out sla.Policy
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		if claim.Key != "" {
			existing, err := claim.Claim(ctx, t.tx, p.CreatedAt)
			if err != nil {
				return err
			}
			if existing != "" {
				id, err := uuid.Parse(existing)
				if err != nil {
					return fmt.Errorf("idempotency key names %q: %w", existing, err)
				}
				out, err = t.policy(ctx, id, false)
				return err
			}
		}
		if err := t.insertPolicy(ctx, p, false); err != nil {
			return err
		}
		var err error
		out, err = t.policy(ctx, p.ID, false)
		return err
	})
	return out, err
}

// UpdatePolicy locks policy id, lets change edit it, and saves it with the next version.
func (s *Store) UpdatePolicy(ctx context.Context, id uuid.UUID, now time.Time, change func(p *sla.Policy) error) (sla.Policy, error) {
	var out sla.Policy
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		p, err := t.policy(ctx, id, true)
		if err != nil {
			return err
		}
		if err := change(&p); err != nil {
			return err
		}
		p.Version++
		p.UpdatedAt = now
		args, err := policyArgs(p)
		if err != nil {
			return err
		}
		if _, err := t.tx.Exec(ctx, `UPDATE policies SET display_name = $3, enabled = $4, match = $5, targets = $6,
			warnings = $7, calendar = $8, breach = $9, version = $11, updated_at = $13, progress = $14
			WHERE id = $1 AND code = $2 AND builtin = $10 AND created_at = $12`, args...); err != nil {
			return fmt.Errorf("update policy %s: %w", id, err)
		}
		out = p
		return nil
	})
	return out, err
}

// Seed inserts the default calendars and policies whose codes are not there yet, so a fresh database
// starts with them and a new release's defaults join an older one; what admins changed stays. It is safe
// when several replicas start at once.
func (s *Store) Seed(ctx context.Context, now time.Time, cals []sla.NamedCalendar, policies []sla.Policy) error {
	return s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		for _, c := range cals {
			c.CreatedAt = now
			if err := t.insertCalendar(ctx, c, true); err != nil {
				return err
			}
		}
		for _, p := range policies {
			p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
			if err := t.insertPolicy(ctx, p, true); err != nil {
				return err
			}
		}
		return nil
	})
}
