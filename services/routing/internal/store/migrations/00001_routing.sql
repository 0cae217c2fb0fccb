-- +goose Up
-- Routing's own state: groups, agents and their memberships, ordered routing rules, and its projection of
-- the tickets it routes (the queue, and each agent's open tickets: their load).

CREATE TABLE groups (
    id                        uuid        NOT NULL,
    code                      text        NOT NULL,
    display_name              text        NOT NULL,
    head_agent_id             uuid,
    strategy                  text        NOT NULL,
    transfer_deadline_seconds integer     NOT NULL,
    builtin                   boolean     NOT NULL DEFAULT false,
    version                   bigint      NOT NULL DEFAULT 1,
    event_seq                 bigint      NOT NULL DEFAULT 0,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    CONSTRAINT groups_pkey PRIMARY KEY (id),
    CONSTRAINT groups_code_key UNIQUE (code),
    CONSTRAINT groups_strategy_check CHECK (strategy IN ('round_robin', 'least_loaded', 'skills_then_least_loaded')),
    CONSTRAINT groups_deadline_check CHECK (transfer_deadline_seconds BETWEEN 60 AND 604800)
);

CREATE TABLE agents (
    id           uuid        NOT NULL,
    display_name text        NOT NULL DEFAULT '',
    skills       text[]      NOT NULL DEFAULT '{}',
    seniority    text        NOT NULL,
    capacity     integer     NOT NULL,
    presence     text        NOT NULL DEFAULT 'offline',
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT agents_pkey PRIMARY KEY (id),
    CONSTRAINT agents_seniority_check CHECK (seniority IN ('junior', 'senior', 'lead')),
    CONSTRAINT agents_capacity_check CHECK (capacity BETWEEN 1 AND 200),
    CONSTRAINT agents_presence_check CHECK (presence IN ('online', 'away', 'offline'))
);

ALTER TABLE groups ADD CONSTRAINT groups_head_fkey FOREIGN KEY (head_agent_id) REFERENCES agents (id);

-- last_turn orders round robin within the group: the assignment_turns value of the agent's last
-- assignment in the group (0: never), strictly increasing even within one transaction.
CREATE SEQUENCE assignment_turns;

CREATE TABLE memberships (
    group_id  uuid   NOT NULL,
    agent_id  uuid   NOT NULL,
    last_turn bigint NOT NULL DEFAULT 0,
    CONSTRAINT memberships_pkey PRIMARY KEY (group_id, agent_id),
    CONSTRAINT memberships_group_fkey FOREIGN KEY (group_id) REFERENCES groups (id),
    CONSTRAINT memberships_agent_fkey FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
);

CREATE INDEX memberships_agent_idx ON memberships (agent_id);

CREATE TABLE routing_rules (
    id              uuid        NOT NULL,
    position        integer     NOT NULL,
    display_name    text        NOT NULL DEFAULT '',
    condition       jsonb       NOT NULL,
    target_group_id uuid        NOT NULL,
    required_skills text[]      NOT NULL DEFAULT '{}',
    enabled         boolean     NOT NULL DEFAULT true,
    builtin         boolean     NOT NULL DEFAULT false,
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    CONSTRAINT routing_rules_pkey PRIMARY KEY (id),
    CONSTRAINT routing_rules_target_fkey FOREIGN KEY (target_group_id) REFERENCES groups (id)
);

-- Every ticket routing has seen, from its kefu.ticket.* events. state: queued (waiting in group_id's
-- queue), assigned (to assignee_id, counting toward their load), done (resolved, closed or archived: off
-- every queue and load). The facts are what rules match on, kept so a reopened ticket is
-- routed again without asking intake. seq is the last ticket event applied, so a replayed or late event is
-- ignored; event_seq numbers routing's own events about the ticket.
CREATE TABLE routed_tickets (
    ticket_id       uuid        NOT NULL,
    group_id        uuid,
    assignee_id     uuid,
    state           text        NOT NULL,
    priority        smallint    NOT NULL DEFAULT 0,
    type            text        NOT NULL DEFAULT '',
    subcategory     text        NOT NULL DEFAULT '',
    level           text        NOT NULL DEFAULT '',
    urgency         text        NOT NULL DEFAULT '',
    channel         text        NOT NULL DEFAULT '',
    tier            text        NOT NULL DEFAULT '',
    rule_id         uuid,
    required_skills text[]      NOT NULL DEFAULT '{}',
    sla_due_at      timestamptz,
    enqueued_at     timestamptz NOT NULL,
    assigned_at     timestamptz,
    bypass          boolean     NOT NULL DEFAULT false,
    seq             bigint      NOT NULL,
    event_seq       bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT routed_tickets_pkey PRIMARY KEY (ticket_id),
    CONSTRAINT routed_tickets_state_check CHECK (state IN ('queued', 'assigned', 'done'))
);

-- The queue, in assignment order: priority (1 = P1 first, 0 = unknown last), SLA due time, age.
CREATE INDEX routed_tickets_queue_idx ON routed_tickets (group_id, (CASE WHEN priority BETWEEN 1 AND 4 THEN priority ELSE 5 END),
    sla_due_at NULLS LAST, enqueued_at, ticket_id) WHERE state = 'queued';
-- Each agent's load.
CREATE INDEX routed_tickets_load_idx ON routed_tickets (assignee_id) WHERE state = 'assigned';

-- Assignments decided but not yet confirmed by intake's AssignTicket: written in the transaction that
-- decides, so a crash between deciding and calling loses nothing. A dispatcher (any replica) claims rows
-- with SKIP LOCKED, calls intake with request_id (a retry changes nothing there) and deletes the row.
CREATE TABLE dispatches (
    ticket_id  uuid        NOT NULL,
    group_id   uuid        NOT NULL,
    agent_id   uuid,
    request_id text        NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT dispatches_pkey PRIMARY KEY (ticket_id)
);

CREATE INDEX dispatches_next_idx ON dispatches (next_at);

CREATE TABLE settings (
    key   text NOT NULL,
    value text NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);

-- +goose Down
DROP TABLE settings, dispatches, routed_tickets, routing_rules, memberships;
DROP SEQUENCE assignment_turns;
ALTER TABLE groups DROP CONSTRAINT groups_head_fkey;
DROP TABLE agents, groups;
