-- +goose Up
-- Emergency mode (issue #9): incidents with their scope, the tickets linked to them (tickets.incident_id),
-- their timeline of actions, announcements, compensations, and the suggestions analytics' volume surges
-- make for supervisors.
ALTER TABLE tickets ADD COLUMN incident_id uuid;
CREATE INDEX tickets_incident_idx ON tickets (incident_id, created_at, ticket_id) WHERE incident_id IS NOT NULL;

CREATE TABLE incident_serials (
    day  date   NOT NULL,
    last bigint NOT NULL,
    CONSTRAINT incident_serials_pkey PRIMARY KEY (day)
);

CREATE TABLE incidents (
    incident_id     uuid        NOT NULL,
    number          text        NOT NULL,
    kind            text        NOT NULL,
    severity        text        NOT NULL,
    title           text        NOT NULL,
    -- {"channels": [...], "subcategories": [...], "keywords": [...], "start": ..., "end": ...}
    scope           jsonb       NOT NULL,
    team_group_id   uuid        NOT NULL,
    commander_id    text        NOT NULL,
    standard_answer text        NOT NULL DEFAULT '',
    public_notice   text        NOT NULL DEFAULT '',
    status          text        NOT NULL,
    declared_by     text        NOT NULL,
    declared_at     timestamptz NOT NULL,
    closed_at       timestamptz,
    cause           text        NOT NULL DEFAULT '',
    follow_ups      jsonb       NOT NULL DEFAULT '[]',
    suggestion_id   uuid,
    -- Counts the incident's changes: the etag and the sequence of its kefu.incident.* events.
    version         bigint      NOT NULL,
    -- kefu.sla.breached events of linked tickets.
    breaches        bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT incidents_pkey PRIMARY KEY (incident_id),
    CONSTRAINT incidents_number_key UNIQUE (number)
);
CREATE INDEX incidents_active_idx ON incidents (declared_at) WHERE status = 'active';
CREATE INDEX incidents_list_idx ON incidents (declared_at DESC, incident_id DESC);

CREATE TABLE incident_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    incident_id uuid        NOT NULL,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    kind        text        NOT NULL,
    text        text        NOT NULL DEFAULT '',
    CONSTRAINT incident_actions_pkey PRIMARY KEY (id),
    CONSTRAINT incident_actions_incident_fkey FOREIGN KEY (incident_id) REFERENCES incidents (incident_id)
);
CREATE INDEX incident_actions_incident_idx ON incident_actions (incident_id, id);

CREATE TABLE incident_announcements (
    announcement_id uuid        NOT NULL,
    incident_id     uuid        NOT NULL,
    text            text        NOT NULL,
    closing         boolean     NOT NULL,
    tickets         bigint      NOT NULL,
    announced_by    text        NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT incident_announcements_pkey PRIMARY KEY (announcement_id),
    CONSTRAINT incident_announcements_incident_fkey FOREIGN KEY (incident_id) REFERENCES incidents (incident_id)
);

CREATE TABLE compensations (
    compensation_id uuid        NOT NULL,
    incident_id     uuid        NOT NULL,
    ticket_id       uuid        NOT NULL,
    kind            text        NOT NULL,
    amount          bigint      NOT NULL,
    currency        text        NOT NULL DEFAULT '',
    note            text        NOT NULL DEFAULT '',
    state           text        NOT NULL,
    proposed_by     text        NOT NULL,
    proposed_at     timestamptz NOT NULL,
    decided_by      text        NOT NULL DEFAULT '',
    decided_at      timestamptz,
    decision_note   text        NOT NULL DEFAULT '',
    CONSTRAINT compensations_pkey PRIMARY KEY (compensation_id),
    CONSTRAINT compensations_incident_fkey FOREIGN KEY (incident_id) REFERENCES incidents (incident_id)
);
CREATE INDEX compensations_incident_idx ON compensations (incident_id, proposed_at);

CREATE TABLE incident_suggestions (
    suggestion_id uuid             NOT NULL,
    surge_id      text             NOT NULL,
    channel       text             NOT NULL DEFAULT '',
    subcategory   text             NOT NULL DEFAULT '',
    tickets       bigint           NOT NULL,
    baseline      double precision NOT NULL,
    state         text             NOT NULL,
    incident_id   uuid,
    created_at    timestamptz      NOT NULL,
    CONSTRAINT incident_suggestions_pkey PRIMARY KEY (suggestion_id),
    CONSTRAINT incident_suggestions_surge_key UNIQUE (surge_id)
);
CREATE INDEX incident_suggestions_list_idx ON incident_suggestions (created_at DESC);

-- +goose Down
DROP TABLE incident_suggestions;
DROP TABLE compensations;
DROP TABLE incident_announcements;
DROP TABLE incident_actions;
DROP TABLE incidents;
DROP TABLE incident_serials;
DROP INDEX tickets_incident_idx;
ALTER TABLE tickets DROP COLUMN incident_id;
