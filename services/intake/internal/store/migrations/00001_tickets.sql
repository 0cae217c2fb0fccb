-- Intake's own tables: tickets, their immutable timeline, ticket numbering, the classification taxonomy and
-- keyword rules, and service settings. Runs as the schema owner; the runtime role gets table privileges
-- through the owner's default privileges, and the timeline trigger below forbids it to rewrite history.

-- +goose Up

-- Ticket numbers: GD + business day + serial. One global sequence feeds every day; ticket_days records the
-- first value a day drew, so serial = value - base + 1. No row is locked per submit (only the first submit
-- of a day inserts), so concurrent submits on any number of replicas never serialize on a counter. Serials
-- are unique and increase within a day; a rolled-back submit leaves a gap, which is allowed.
CREATE SEQUENCE ticket_serial_seq AS bigint;

CREATE TABLE ticket_days (
    day  date   NOT NULL,
    base bigint NOT NULL,
    CONSTRAINT ticket_days_pkey PRIMARY KEY (day)
);

-- next_ticket_serial returns the next serial of p_day, starting at 1. A caller that drew its value before
-- another session recorded a lower base for the day (it lost the race for the day's first row) draws again,
-- so every serial is at least 1.
-- +goose StatementBegin
CREATE FUNCTION next_ticket_serial(p_day date) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v bigint;
    b bigint;
BEGIN
    LOOP
        v := nextval('ticket_serial_seq');
        SELECT base INTO b FROM ticket_days WHERE day = p_day;
        IF NOT FOUND THEN
            INSERT INTO ticket_days (day, base) VALUES (p_day, v)
                ON CONFLICT ON CONSTRAINT ticket_days_pkey DO NOTHING;
            SELECT base INTO b FROM ticket_days WHERE day = p_day;
        END IF;
        IF v >= b THEN
            RETURN v - b + 1;
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

CREATE TABLE tickets (
    ticket_id              uuid        NOT NULL,
    number                 text        NOT NULL,
    status                 text        NOT NULL,
    channel                text        NOT NULL,
    type                   text        NOT NULL,
    subcategory            text        NOT NULL DEFAULT '',
    classification_source  text        NOT NULL,
    classification_rule_id uuid,
    urgency                text        NOT NULL,
    level                  text        NOT NULL,
    -- 1 (P1) .. 4 (P4): ascending is "most pressing first", which the work-queue order relies on.
    priority               smallint    NOT NULL,
    subject                text        NOT NULL DEFAULT '',
    description            text        NOT NULL,
    customer_id            uuid,
    order_number           text        NOT NULL DEFAULT '',
    member_number          text        NOT NULL DEFAULT '',
    key_facts              jsonb       NOT NULL DEFAULT '[]',
    attachments            jsonb       NOT NULL DEFAULT '[]',
    -- Personal data, present only with the customer's consent (PIPL); never copied into events.
    contact_kind           text,
    contact_value          text,
    consent_purpose        text,
    group_id               uuid,
    assignee_id            uuid,
    escalation_level       integer     NOT NULL DEFAULT 0,
    resolution_summary     text        NOT NULL DEFAULT '',
    resolution_count       integer     NOT NULL DEFAULT 0,
    handling_count         integer     NOT NULL DEFAULT 0,
    -- The first agent reply (first response time); NULL until then.
    first_reply_at         timestamptz,
    satisfaction_rating    text,
    satisfaction_comment   text,
    satisfaction_resolution integer,
    satisfaction_recorded_at timestamptz,
    customer_unreachable   boolean     NOT NULL DEFAULT false,
    submitter_kind         text        NOT NULL,
    submitter_id           text        NOT NULL,
    received_at            timestamptz NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    resolved_at            timestamptz,
    closed_at              timestamptz,
    archived_at            timestamptz,
    -- The number of changes so far: the per-ticket event sequence and the etag. Written under the row lock.
    version                bigint      NOT NULL,
    CONSTRAINT tickets_pkey PRIMARY KEY (ticket_id),
    CONSTRAINT tickets_number_key UNIQUE (number),
    CONSTRAINT tickets_status_check CHECK (status IN
        ('new', 'assigned', 'in_progress', 'pending_customer', 'resolved', 'closed', 'archived')),
    CONSTRAINT tickets_priority_check CHECK (priority BETWEEN 1 AND 4),
    CONSTRAINT tickets_contact_check CHECK (
        (contact_kind IS NULL AND contact_value IS NULL AND consent_purpose IS NULL) OR
        (contact_kind IS NOT NULL AND contact_value IS NOT NULL AND consent_purpose IS NOT NULL)),
    CONSTRAINT tickets_version_check CHECK (version >= 1)
);

-- List orders: create time (both directions) and priority, each optionally behind one equality filter. The
-- id breaks ties so pagination is stable. Partial indexes skip rows without the filtered column, which is
-- every new ticket for group and assignee, so they cost nothing at submit.
CREATE INDEX tickets_created_idx ON tickets (created_at, ticket_id);
CREATE INDEX tickets_status_created_idx ON tickets (status, created_at, ticket_id);
CREATE INDEX tickets_priority_idx ON tickets (priority, created_at, ticket_id);
CREATE INDEX tickets_assignee_created_idx ON tickets (assignee_id, created_at, ticket_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_group_created_idx ON tickets (group_id, created_at, ticket_id) WHERE group_id IS NOT NULL;
CREATE INDEX tickets_customer_created_idx ON tickets (customer_id, created_at, ticket_id) WHERE customer_id IS NOT NULL;
-- The auto-close sweep reads resolved tickets by resolution time.
CREATE INDEX tickets_resolved_due_idx ON tickets (resolved_at) WHERE status = 'resolved';

CREATE TABLE timeline_entries (
    entry_id      uuid        NOT NULL,
    ticket_id     uuid        NOT NULL,
    -- The ticket version of the change that wrote the entry (= the event's aggregate_seq).
    seq           bigint      NOT NULL,
    kind          text        NOT NULL,
    actor_kind    text        NOT NULL,
    actor_id      text        NOT NULL,
    created_at    timestamptz NOT NULL,
    text          text        NOT NULL DEFAULT '',
    channel       text,
    from_status   text,
    to_status     text,
    asks_customer boolean     NOT NULL DEFAULT false,
    group_id      uuid,
    assignee_id   uuid,
    attachments   jsonb,
    CONSTRAINT timeline_entries_pkey PRIMARY KEY (entry_id),
    CONSTRAINT timeline_entries_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES tickets (ticket_id)
);

CREATE INDEX timeline_entries_ticket_seq_idx ON timeline_entries (ticket_id, seq, entry_id);

-- The timeline is history: nobody but the owner (who can drop the trigger in a reviewed migration) may
-- rewrite or delete it. A trigger rather than a REVOKE because the runtime role's name is the
-- deployment's choice.
-- +goose StatementBegin
CREATE FUNCTION timeline_entries_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'timeline entries are immutable (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER timeline_entries_immutable
    BEFORE UPDATE OR DELETE ON timeline_entries
    FOR EACH ROW EXECUTE FUNCTION timeline_entries_immutable();

CREATE TRIGGER timeline_entries_no_truncate
    BEFORE TRUNCATE ON timeline_entries
    FOR EACH STATEMENT EXECUTE FUNCTION timeline_entries_immutable();

-- The classification taxonomy: fixed types, admin-owned subcategories.
CREATE TABLE subcategories (
    type       text        NOT NULL,
    code       text        NOT NULL,
    name_zh    text        NOT NULL,
    name_en    text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT subcategories_pkey PRIMARY KEY (type, code),
    CONSTRAINT subcategories_type_check CHECK (type IN ('inquiry', 'complaint', 'request', 'suggestion'))
);

-- Keyword rules, evaluated by (position, rule_id).
CREATE TABLE classification_rules (
    rule_id     uuid        NOT NULL,
    position    integer     NOT NULL,
    keywords    text[]      NOT NULL,
    target      text        NOT NULL DEFAULT '',
    set_urgency text        NOT NULL DEFAULT 'unspecified',
    set_level   text        NOT NULL DEFAULT 'none',
    enabled     boolean     NOT NULL DEFAULT true,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT classification_rules_pkey PRIMARY KEY (rule_id)
);

CREATE INDEX classification_rules_position_idx ON classification_rules (position, rule_id);

-- Service settings, e.g. defaults_seeded: the default taxonomy and rules are seeded once, so an admin who
-- deletes every rule does not get them back at the next start.
CREATE TABLE settings (
    key        text        NOT NULL,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);

-- +goose Down
DROP TABLE settings;
DROP TABLE classification_rules;
DROP TABLE subcategories;
DROP TABLE timeline_entries;
DROP FUNCTION timeline_entries_immutable();
DROP TABLE tickets;
DROP FUNCTION next_ticket_serial(date);
DROP TABLE ticket_days;
DROP SEQUENCE ticket_serial_seq;
