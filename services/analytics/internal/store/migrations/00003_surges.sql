-- +goose Up
-- Volume surges (issue 8, internal/domain/surge): one row per surge of one channel or subcategory, from the
-- hour it began until it clears. Kept across rebuilds: they are the history of what was announced
-- (kefu.analytics.volume_surge and volume_surge_cleared), not a projection of the stream.

CREATE TABLE surges (
    id           uuid             NOT NULL,
    dimension    text             NOT NULL,
    value        text             NOT NULL,
    -- The start of the hour it began in, and the end of its last hour over the threshold (NULL while active).
    since        timestamptz      NOT NULL,
    until        timestamptz,
    active       boolean          NOT NULL,
    -- The hour's tickets and baseline when it was detected, and the factor configured then.
    tickets      bigint           NOT NULL,
    baseline     double precision NOT NULL,
    factor       double precision NOT NULL,
    -- The most tickets in one of its hours, and the start of the latest hour seen over the threshold.
    peak_tickets bigint           NOT NULL,
    last_over    timestamptz      NOT NULL,
    detected_at  timestamptz      NOT NULL,
    cleared_at   timestamptz,
    CONSTRAINT surges_pkey PRIMARY KEY (id),
    CONSTRAINT surges_dimension_check CHECK (dimension IN ('channel', 'subcategory')),
    CONSTRAINT surges_until_check CHECK (active = (until IS NULL))
);

-- At most one active surge per channel or subcategory, whichever replica evaluates (the evaluations also
-- take an advisory lock; this is the backstop).
CREATE UNIQUE INDEX surges_active_key ON surges (dimension, value) WHERE active;

-- ListVolumeSurges: active first, then the newest.
CREATE INDEX surges_list_idx ON surges (active, since, id);

-- +goose Down
DROP TABLE surges;
