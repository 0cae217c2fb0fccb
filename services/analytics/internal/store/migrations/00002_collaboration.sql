-- +goose Up
-- Projection version 2 (facts.ProjectionVersion): business-time durations, per-ticket flags (transferred,
-- escalated, with an SLA target, breached), accepted transfers, complaint topics and time in each group.
-- The service rebuilds projections of an older version from the stream when it starts.

ALTER TABLE ticket_rollup
    ADD COLUMN transferred                bigint NOT NULL DEFAULT 0,
    ADD COLUMN escalated                  bigint NOT NULL DEFAULT 0,
    ADD COLUMN sla_tickets                bigint NOT NULL DEFAULT 0,
    ADD COLUMN breached                   bigint NOT NULL DEFAULT 0,
    ADD COLUMN transfers_accepted         bigint NOT NULL DEFAULT 0,
    ADD COLUMN first_responses_business   bigint NOT NULL DEFAULT 0,
    ADD COLUMN first_response_business_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN resolutions_business       bigint NOT NULL DEFAULT 0,
    ADD COLUMN resolution_business_ms     bigint NOT NULL DEFAULT 0;

-- Tickets per complaint topic found in the customer's words.
CREATE TABLE topic_rollup (
    hour        timestamptz NOT NULL,
    channel     text        NOT NULL,
    group_id    text        NOT NULL,
    type        text        NOT NULL,
    subcategory text        NOT NULL,
    urgency     text        NOT NULL,
    level       text        NOT NULL,
    topic       text        NOT NULL,
    tickets     bigint      NOT NULL DEFAULT 0,
    CONSTRAINT topic_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, topic)
);

-- Completed stays of tickets in groups; group_id is the group stayed in (facts.Ticket.Stays).
CREATE TABLE group_time_rollup (
    hour        timestamptz NOT NULL,
    channel     text        NOT NULL,
    group_id    text        NOT NULL,
    type        text        NOT NULL,
    subcategory text        NOT NULL,
    urgency     text        NOT NULL,
    level       text        NOT NULL,
    stays       bigint      NOT NULL DEFAULT 0,
    stay_ms     bigint      NOT NULL DEFAULT 0,
    CONSTRAINT group_time_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level)
);

-- The version of the projections the tables hold: 1 for those built before this migration.
ALTER TABLE ingest_stats ADD COLUMN projection_version integer NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE ingest_stats DROP COLUMN projection_version;
DROP TABLE group_time_rollup, topic_rollup;
ALTER TABLE ticket_rollup
    DROP COLUMN transferred, DROP COLUMN escalated, DROP COLUMN sla_tickets, DROP COLUMN breached,
    DROP COLUMN transfers_accepted, DROP COLUMN first_responses_business, DROP COLUMN first_response_business_ms,
    DROP COLUMN resolutions_business, DROP COLUMN resolution_business_ms;
