-- Inbox and dead letters of the effectively-once consumer helper (pkg/events). Shared by every consuming
-- service, created in its schema.

-- +goose Up

-- One row per event a durable consumer has applied. The row is written in the same transaction as the
-- handler's effect, so a redelivered event finds it and changes nothing.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inbox_pkey PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer gave up on after MaxDeliver attempts (or could not identify): parked here, never
-- dropped, for an operator to inspect and replay. event_id is text because a message without a valid
-- Nats-Msg-Id must be parkable too; stream_seq identifies the message in the stream.
CREATE TABLE dead_letters (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    consumer      text        NOT NULL,
    event_id      text        NOT NULL,
    stream_seq    bigint      NOT NULL,
    subject       text        NOT NULL,
    headers       jsonb       NOT NULL,
    data          bytea       NOT NULL,
    num_delivered bigint      NOT NULL,
    error         text        NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dead_letters_pkey PRIMARY KEY (id),
    CONSTRAINT dead_letters_consumer_stream_seq_key UNIQUE (consumer, stream_seq)
);

CREATE INDEX dead_letters_consumer_failed_at_idx ON dead_letters (consumer, failed_at);
