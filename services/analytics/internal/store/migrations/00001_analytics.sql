-- +goose Up
-- The analytics service's projection of each ticket (built from its events, stored whole as JSON) and the
-- hourly rollups the reports read. Rollup keys: the UTC hour the ticket was received and its
-- classification; a ticket is counted where it stands now (see internal/domain/facts).

CREATE TABLE tickets (
    id          uuid        NOT NULL,
    state       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT tickets_pkey PRIMARY KEY (id)
);

CREATE TABLE ticket_rollup (
    hour              timestamptz NOT NULL,
    channel           text        NOT NULL,
    group_id          text        NOT NULL,
    type              text        NOT NULL,
    subcategory       text        NOT NULL,
    urgency           text        NOT NULL,
    level             text        NOT NULL,
    tickets           bigint      NOT NULL DEFAULT 0,
    first_responses   bigint      NOT NULL DEFAULT 0,
    first_response_ms bigint      NOT NULL DEFAULT 0,
    resolutions       bigint      NOT NULL DEFAULT 0,
    resolution_ms     bigint      NOT NULL DEFAULT 0,
    satisfied         bigint      NOT NULL DEFAULT 0,
    neutral           bigint      NOT NULL DEFAULT 0,
    unsatisfied       bigint      NOT NULL DEFAULT 0,
    transfers         bigint      NOT NULL DEFAULT 0,
    escalations       bigint      NOT NULL DEFAULT 0,
    reopens           bigint      NOT NULL DEFAULT 0,
    accept_wait_ms    bigint      NOT NULL DEFAULT 0,
    CONSTRAINT ticket_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level)
);

-- Log-scale histograms of first-response and resolution times (facts.Bucket).
CREATE TABLE duration_hist (
    hour        timestamptz NOT NULL,
    channel     text        NOT NULL,
    group_id    text        NOT NULL,
    type        text        NOT NULL,
    subcategory text        NOT NULL,
    urgency     text        NOT NULL,
    level       text        NOT NULL,
    metric      text        NOT NULL,
    bucket      integer     NOT NULL,
    n           bigint      NOT NULL DEFAULT 0,
    CONSTRAINT duration_hist_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, metric, bucket)
);

CREATE TABLE sla_rollup (
    hour             timestamptz NOT NULL,
    channel          text        NOT NULL,
    group_id         text        NOT NULL,
    type             text        NOT NULL,
    subcategory      text        NOT NULL,
    urgency          text        NOT NULL,
    level            text        NOT NULL,
    target           text        NOT NULL,
    tickets          bigint      NOT NULL DEFAULT 0,
    breached         bigint      NOT NULL DEFAULT 0,
    warned_recovered bigint      NOT NULL DEFAULT 0,
    warned_breached  bigint      NOT NULL DEFAULT 0,
    CONSTRAINT sla_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, target)
);

CREATE TABLE agent_rollup (
    hour        timestamptz NOT NULL,
    channel     text        NOT NULL,
    group_id    text        NOT NULL,
    type        text        NOT NULL,
    subcategory text        NOT NULL,
    urgency     text        NOT NULL,
    level       text        NOT NULL,
    agent       text        NOT NULL,
    assigned    bigint      NOT NULL DEFAULT 0,
    resolved    bigint      NOT NULL DEFAULT 0,
    open        bigint      NOT NULL DEFAULT 0,
    handled     bigint      NOT NULL DEFAULT 0,
    handle_ms   bigint      NOT NULL DEFAULT 0,
    CONSTRAINT agent_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, agent)
);

-- One row: how many events have been ingested since the projections were built, and when the last was.
CREATE TABLE ingest_stats (
    id      integer     NOT NULL DEFAULT 1,
    events  bigint      NOT NULL DEFAULT 0,
    last_at timestamptz,
    CONSTRAINT ingest_stats_pkey PRIMARY KEY (id),
    CONSTRAINT ingest_stats_one CHECK (id = 1)
);
INSERT INTO ingest_stats (id) VALUES (1);

-- +goose Down
DROP TABLE ingest_stats, agent_rollup, sla_rollup, duration_hist, ticket_rollup, tickets;
