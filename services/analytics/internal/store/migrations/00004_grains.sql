-- +goose Up
-- Projection version 3 (facts.ProjectionVersion): every rollup row has a grain (facts.Grain). Grain 0 is
-- the UTC hour with every dimension, as before; the coarse grains keep at most one dimension, by hour and by
-- business day, so a report over weeks reads days instead of hours and its cost stops growing with the
-- ticket count. Histograms become one packed row per key and metric (facts.Histogram) instead of a row per
-- bucket. The service rebuilds the rollups on start.

ALTER TABLE ticket_rollup ADD COLUMN grain smallint NOT NULL DEFAULT 0,
    DROP CONSTRAINT ticket_rollup_pkey,
    ADD CONSTRAINT ticket_rollup_pkey PRIMARY KEY (grain, hour, channel, group_id, type, subcategory, urgency, level);

ALTER TABLE sla_rollup ADD COLUMN grain smallint NOT NULL DEFAULT 0,
    DROP CONSTRAINT sla_rollup_pkey,
    ADD CONSTRAINT sla_rollup_pkey PRIMARY KEY (grain, hour, channel, group_id, type, subcategory, urgency, level, target);

ALTER TABLE agent_rollup ADD COLUMN grain smallint NOT NULL DEFAULT 0,
    DROP CONSTRAINT agent_rollup_pkey,
    ADD CONSTRAINT agent_rollup_pkey PRIMARY KEY (grain, hour, channel, group_id, type, subcategory, urgency, level, agent);

ALTER TABLE topic_rollup ADD COLUMN grain smallint NOT NULL DEFAULT 0,
    DROP CONSTRAINT topic_rollup_pkey,
    ADD CONSTRAINT topic_rollup_pkey PRIMARY KEY (grain, hour, channel, group_id, type, subcategory, urgency, level, topic);

ALTER TABLE group_time_rollup ADD COLUMN grain smallint NOT NULL DEFAULT 0,
    DROP CONSTRAINT group_time_rollup_pkey,
    ADD CONSTRAINT group_time_rollup_pkey PRIMARY KEY (grain, hour, channel, group_id, type, subcategory, urgency, level);

DROP TABLE duration_hist;
CREATE TABLE duration_hist (
    grain       smallint    NOT NULL,
    hour        timestamptz NOT NULL,
    channel     text        NOT NULL,
    group_id    text        NOT NULL,
    type        text        NOT NULL,
    subcategory text        NOT NULL,
    urgency     text        NOT NULL,
    level       text        NOT NULL,
    metric      text        NOT NULL,
    -- facts.Histogram.Encode: (bucket distance, count) varint pairs.
    counts      bytea       NOT NULL,
    CONSTRAINT duration_hist_pkey PRIMARY KEY (grain, hour, channel, group_id, type, subcategory, urgency, level, metric)
);

-- The business zone the day grains were cut in: rollups of another zone are rebuilt on start.
ALTER TABLE ingest_stats ADD COLUMN business_zone text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE ingest_stats DROP COLUMN business_zone;

DROP TABLE duration_hist;
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

DELETE FROM ticket_rollup WHERE grain <> 0;
ALTER TABLE ticket_rollup DROP CONSTRAINT ticket_rollup_pkey,
    ADD CONSTRAINT ticket_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level),
    DROP COLUMN grain;

DELETE FROM sla_rollup WHERE grain <> 0;
ALTER TABLE sla_rollup DROP CONSTRAINT sla_rollup_pkey,
    ADD CONSTRAINT sla_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, target),
    DROP COLUMN grain;

DELETE FROM agent_rollup WHERE grain <> 0;
ALTER TABLE agent_rollup DROP CONSTRAINT agent_rollup_pkey,
    ADD CONSTRAINT agent_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, agent),
    DROP COLUMN grain;

DELETE FROM topic_rollup WHERE grain <> 0;
ALTER TABLE topic_rollup DROP CONSTRAINT topic_rollup_pkey,
    ADD CONSTRAINT topic_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level, topic),
    DROP COLUMN grain;

DELETE FROM group_time_rollup WHERE grain <> 0;
ALTER TABLE group_time_rollup DROP CONSTRAINT group_time_rollup_pkey,
    ADD CONSTRAINT group_time_rollup_pkey PRIMARY KEY (hour, channel, group_id, type, subcategory, urgency, level),
    DROP COLUMN grain;
