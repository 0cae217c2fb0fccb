-- +goose Up
-- The SLA-timer service's own state: business calendars, SLA policies, the tickets it follows and each
-- ticket's clocks (one per target). A clock's next firing instant (next_at) is derived from the clock and
-- kept beside it, so the timer loop claims due clocks through one partial index.

CREATE TABLE calendars (
    code         text        NOT NULL,
    display_name text        NOT NULL DEFAULT '',
    always_open  boolean     NOT NULL DEFAULT false,
    zone         text        NOT NULL,
    -- [[[start_s, end_s], ...] × 7], indexed by weekday (Sunday 0).
    week         jsonb       NOT NULL DEFAULT '[]',
    -- ["2026-10-01", ...]
    holidays     jsonb       NOT NULL DEFAULT '[]',
    -- [{"date": "2026-10-10", "hours": [[start_s, end_s], ...]}, ...]
    workdays     jsonb       NOT NULL DEFAULT '[]',
    builtin      boolean     NOT NULL DEFAULT false,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT calendars_pkey PRIMARY KEY (code)
);

CREATE TABLE policies (
    id           uuid        NOT NULL,
    code         text        NOT NULL,
    display_name text        NOT NULL,
    enabled      boolean     NOT NULL,
    -- {"types": [...], "levels": [...], "urgencies": [...], "channels": [...], "tiers": [...]}
    match        jsonb       NOT NULL,
    -- {"first_response": length_ms, ...}
    targets      jsonb       NOT NULL,
    -- [{"percent": 50} | {"before_ms": 600000}, ...]
    warnings     jsonb       NOT NULL,
    calendar     text        NOT NULL,
    breach       text        NOT NULL,
    builtin      boolean     NOT NULL DEFAULT false,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT policies_pkey PRIMARY KEY (id),
    CONSTRAINT policies_code_key UNIQUE (code),
    CONSTRAINT policies_calendar_fkey FOREIGN KEY (calendar) REFERENCES calendars (code),
    CONSTRAINT policies_breach_check CHECK (breach IN ('notify', 'escalate'))
);

-- The tickets the service follows: what its policies match on, and three sequences: seq is the last intake
-- event applied (kefu.ticket.*), routing_seq the last routing transfer event applied (kefu.routing.transfer_*,
-- routing's own per-ticket sequence), sla_seq the last kefu.sla.* event this service wrote for the ticket.
CREATE TABLE tickets (
    id          uuid        NOT NULL,
    type        text        NOT NULL DEFAULT '',
    subcategory text        NOT NULL DEFAULT '',
    level       text        NOT NULL DEFAULT '',
    urgency     text        NOT NULL DEFAULT '',
    channel     text        NOT NULL DEFAULT '',
    tier        text        NOT NULL DEFAULT '',
    group_id    uuid,
    received_at timestamptz NOT NULL,
    pending     boolean     NOT NULL DEFAULT false,
    closed      boolean     NOT NULL DEFAULT false,
    policy_ids  uuid[]      NOT NULL DEFAULT '{}',
    seq         bigint      NOT NULL DEFAULT 0,
    routing_seq bigint      NOT NULL DEFAULT 0,
    sla_seq     bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT tickets_pkey PRIMARY KEY (id)
);

CREATE TABLE clocks (
    ticket_id   uuid        NOT NULL,
    target      text        NOT NULL,
    cycle       integer     NOT NULL DEFAULT 0,
    policy_id   uuid,
    calendar    text        NOT NULL,
    length_ms   bigint      NOT NULL,
    warnings    jsonb       NOT NULL DEFAULT '[]',
    breach      text        NOT NULL,
    start_at    timestamptz NOT NULL,
    -- [{"from": ..., "to": ...}, ...]; the last has no "to" while paused.
    pauses      jsonb       NOT NULL DEFAULT '[]',
    state       text        NOT NULL,
    warned      integer     NOT NULL DEFAULT 0,
    met_at      timestamptz,
    breached_at timestamptz,
    cancelled_at timestamptz,
    -- Derived: the due time (NULL while paused) and the next warning or breach instant (NULL when nothing
    -- will fire).
    due_at      timestamptz,
    next_at     timestamptz,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT clocks_pkey PRIMARY KEY (ticket_id, target),
    CONSTRAINT clocks_ticket_fkey FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE,
    CONSTRAINT clocks_target_check CHECK (target IN ('first_response', 'next_response', 'resolution', 'transfer_acceptance')),
    CONSTRAINT clocks_state_check CHECK (state IN ('running', 'paused', 'met', 'breached', 'cancelled'))
);

-- The timer loop's queue: due clocks in instant order.
CREATE INDEX clocks_next_idx ON clocks (next_at) WHERE next_at IS NOT NULL;
-- The countdown board: open targets and breached ones not yet met.
CREATE INDEX clocks_board_idx ON clocks (due_at)
    WHERE state IN ('running', 'paused') OR (state = 'breached' AND met_at IS NULL);
CREATE INDEX tickets_group_idx ON tickets (group_id) WHERE NOT closed;

-- +goose Down
DROP TABLE clocks;
DROP TABLE tickets;
DROP TABLE policies;
DROP TABLE calendars;
