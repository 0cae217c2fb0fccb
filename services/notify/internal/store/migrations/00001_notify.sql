-- +goose Up
-- The notify service's own state: the admins' message templates (the built-in defaults live in code),
-- outbound messages with their delivery state, and webhook subscriptions with their deliveries and
-- attempts. Message text and addresses live here and on the OUTBOUND stream only, never on kefu.>.

CREATE TABLE templates (
    kind          text        NOT NULL,
    -- '' is the default for every channel without its own.
    channel       text        NOT NULL,
    language      text        NOT NULL,
    body          text        NOT NULL,
    update_actor  text        NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT templates_pkey PRIMARY KEY (kind, channel, language)
);

-- One row per message to a customer. The row is its own outbox: the publisher sends rows not yet
-- published to outbound.<channel> (Nats-Msg-Id = id, so a repeat after a crash is stored once) and marks
-- them.
CREATE TABLE messages (
    id                  uuid        NOT NULL,
    -- What made it, so a redelivered event makes it once: "ack:<ticket id>", "reply:<entry id>".
    dedupe_key          text        NOT NULL,
    kind                text        NOT NULL,
    ticket_id           uuid        NOT NULL,
    ticket_number       text        NOT NULL,
    customer_id         uuid,
    channel             text        NOT NULL,
    contact_kind        text        NOT NULL DEFAULT '',
    address             text        NOT NULL DEFAULT '',
    language            text        NOT NULL,
    body                text        NOT NULL,
    entry_id            text        NOT NULL DEFAULT '',
    -- queued, sent, delivered, failed
    state               text        NOT NULL,
    failure_reason      text        NOT NULL DEFAULT '',
    provider_message_id text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    sent_at             timestamptz,
    finished_at         timestamptz,
    published           boolean     NOT NULL DEFAULT false,
    CONSTRAINT messages_pkey PRIMARY KEY (id),
    CONSTRAINT messages_dedupe_key_key UNIQUE (dedupe_key)
);
CREATE INDEX messages_ticket_idx ON messages (ticket_id, created_at DESC, id DESC);
CREATE INDEX messages_unpublished_idx ON messages (created_at) WHERE NOT published;

CREATE TABLE webhooks (
    id            uuid        NOT NULL,
    url           text        NOT NULL,
    subjects      text[]      NOT NULL,
    description   text        NOT NULL DEFAULT '',
    -- active, paused
    state         text        NOT NULL,
    retry_hours   integer     NOT NULL,
    secret        text        NOT NULL,
    create_actor  text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT webhooks_pkey PRIMARY KEY (id)
);

-- What a delivery sends, once per event or message however many webhooks receive it.
CREATE TABLE webhook_payloads (
    id          uuid        NOT NULL,
    subject     text        NOT NULL,
    -- The event id or outbound message id.
    source_id   text        NOT NULL,
    body        bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT webhook_payloads_pkey PRIMARY KEY (id)
);
CREATE INDEX webhook_payloads_created_idx ON webhook_payloads (created_at);

CREATE TABLE webhook_deliveries (
    id                uuid        NOT NULL,
    webhook_id        uuid        NOT NULL,
    payload_id        uuid        NOT NULL,
    -- pending, delivered, dead
    state             text        NOT NULL,
    attempt_count     integer     NOT NULL DEFAULT 0,
    last_status_code  integer     NOT NULL DEFAULT 0,
    last_error        text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    -- When the next attempt is due. A sender that claims the delivery moves it ahead by its lease, so a
    -- sender that dies mid-attempt leaves it due again once the lease ends.
    next_attempt_at   timestamptz NOT NULL,
    -- Retries stop (the delivery is dead) at the first failure after this.
    retry_until       timestamptz NOT NULL,
    finished_at       timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_webhook_fkey FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_payload_fkey FOREIGN KEY (payload_id) REFERENCES webhook_payloads (id),
    CONSTRAINT webhook_deliveries_once_key UNIQUE (webhook_id, payload_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_history_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_payload_idx ON webhook_deliveries (payload_id);

CREATE TABLE webhook_attempts (
    delivery_id   uuid        NOT NULL,
    attempt       integer     NOT NULL,
    attempted_at  timestamptz NOT NULL,
    status_code   integer     NOT NULL,
    error         text        NOT NULL,
    duration_ms   integer     NOT NULL,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (delivery_id, attempt),
    CONSTRAINT webhook_attempts_delivery_fkey FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);
