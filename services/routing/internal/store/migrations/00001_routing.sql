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

-- last_assigned_at orders round robin within the group.
CREATE TABLE memberships (
    group_id         uuid NOT NULL,
    agent_id         uuid NOT NULL,
    last_assigned_at timestamptz,
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
-- every queue and load). seq is the last ticket event applied, so a replayed or late event is ignored.
CREATE TABLE routed_tickets (
    ticket_id   uuid        NOT NULL,
    group_id    uuid,
    assignee_id uuid,
    state       text        NOT NULL,
    priority    smallint    NOT NULL DEFAULT 0,
    sla_due_at  timestamptz,
    enqueued_at timestamptz NOT NULL,
    bypass      boolean     NOT NULL DEFAULT false,
    seq         bigint      NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT routed_tickets_pkey PRIMARY KEY (ticket_id),
    CONSTRAINT routed_tickets_state_check CHECK (state IN ('queued', 'assigned', 'done'))
);

-- The queue, in assignment order: priority (1 = P1 first, 0 = unknown last), SLA due time, age.
CREATE INDEX routed_tickets_queue_idx ON routed_tickets (group_id, (CASE WHEN priority = 0 THEN 99 ELSE priority END),
    sla_due_at NULLS LAST, enqueued_at, ticket_id) WHERE state = 'queued';
-- Each agent's load.
CREATE INDEX routed_tickets_load_idx ON routed_tickets (assignee_id) WHERE state = 'assigned';

CREATE TABLE settings (
    key   text NOT NULL,
    value text NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);

-- +goose Down
DROP TABLE settings, routed_tickets, routing_rules, memberships;
ALTER TABLE groups DROP CONSTRAINT groups_head_fkey;
DROP TABLE agents, groups;
