-- +goose Up
-- Tickets whose customer could not be resolved at submit because the customer service was unreachable:
-- the sweeper asks again with backoff and, on an answer, fills in customer_id and customer_tier. A row
-- leaves when the question is answered (a customer, or none to be found) or after the attempts run out.
CREATE TABLE customer_resolutions (
    ticket_id       uuid        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT customer_resolutions_pkey PRIMARY KEY (ticket_id),
    CONSTRAINT customer_resolutions_ticket_fkey FOREIGN KEY (ticket_id) REFERENCES tickets (ticket_id) ON DELETE CASCADE
);

CREATE INDEX customer_resolutions_due_idx ON customer_resolutions (next_attempt_at);

-- +goose Down
DROP TABLE customer_resolutions;
