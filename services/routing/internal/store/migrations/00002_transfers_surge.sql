-- +goose Up
-- Transfers between groups with their acceptance deadline, hand-backs, and surge overflow per group.

-- Surge: a group whose queue passes surge_queue_depth tickets or whose oldest ticket waited
-- surge_wait_seconds sends new tickets to overflow_group_id until it stays at or below the calm thresholds
-- for calm_period_seconds (calm_since is when it last got there). 0 disables a threshold.
ALTER TABLE groups
    ADD COLUMN overflow_group_id   uuid,
    ADD COLUMN surge_queue_depth   integer     NOT NULL DEFAULT 0,
    ADD COLUMN surge_wait_seconds  integer     NOT NULL DEFAULT 0,
    ADD COLUMN calm_queue_depth    integer     NOT NULL DEFAULT 0,
    ADD COLUMN calm_wait_seconds   integer     NOT NULL DEFAULT 0,
    ADD COLUMN calm_period_seconds integer     NOT NULL DEFAULT 300,
    ADD COLUMN in_surge            boolean     NOT NULL DEFAULT false,
    ADD COLUMN surge_started_at    timestamptz,
    ADD COLUMN calm_since          timestamptz,
    ADD CONSTRAINT groups_overflow_fkey FOREIGN KEY (overflow_group_id) REFERENCES groups (id),
    ADD CONSTRAINT groups_overflow_self_check CHECK (overflow_group_id IS NULL OR overflow_group_id <> id),
    ADD CONSTRAINT groups_surge_check CHECK (surge_queue_depth >= 0 AND surge_wait_seconds >= 0 AND calm_queue_depth >= 0
        AND calm_wait_seconds >= 0 AND calm_period_seconds >= 0);

-- transferring: waiting for group_id (the receiving group) to accept a transfer. declined_by: agents who
-- handed the ticket back, never picked for it again in this group.
ALTER TABLE routed_tickets DROP CONSTRAINT routed_tickets_state_check;
-- intake_assignee: the agent intake has (or will have once the pending dispatch lands): each dispatch
-- expects it, so a decision never overrides an assignment staff made by hand meanwhile.
ALTER TABLE routed_tickets
    ADD CONSTRAINT routed_tickets_state_check CHECK (state IN ('queued', 'assigned', 'transferring', 'done')),
    ADD COLUMN declined_by uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN intake_assignee uuid;

-- unassign: tell intake to clear the agent rather than assign one (queued, handed back, transferred).
-- in_flight: a dispatcher is calling intake with this row's request now; a newer decision replacing the
-- row waits until that call ends, so intake receives one ticket's decisions in the order they were made.
-- expected_assignee: the agent intake must still have for the call to apply (NULL: nobody).
ALTER TABLE dispatches
    ADD COLUMN unassign          boolean NOT NULL DEFAULT false,
    ADD COLUMN in_flight         boolean NOT NULL DEFAULT false,
    ADD COLUMN expected_assignee uuid;

-- reason is staff's text: it stays here and never goes into events.
CREATE TABLE transfers (
    id            uuid        NOT NULL,
    ticket_id     uuid        NOT NULL,
    from_group_id uuid,
    to_group_id   uuid        NOT NULL,
    reason        text        NOT NULL,
    requested_by  text        NOT NULL,
    state         text        NOT NULL,
    created_at    timestamptz NOT NULL,
    deadline_at   timestamptz NOT NULL,
    finished_at   timestamptz,
    accepted_by   text        NOT NULL DEFAULT '',
    assignee_id   uuid,
    CONSTRAINT transfers_pkey PRIMARY KEY (id),
    CONSTRAINT transfers_to_group_fkey FOREIGN KEY (to_group_id) REFERENCES groups (id),
    CONSTRAINT transfers_state_check CHECK (state IN ('pending', 'accepted', 'expired', 'cancelled'))
);

-- At most one pending transfer per ticket; the deadline sweep reads pending ones by due time.
CREATE UNIQUE INDEX transfers_pending_ticket_key ON transfers (ticket_id) WHERE state = 'pending';
CREATE INDEX transfers_due_idx ON transfers (deadline_at) WHERE state = 'pending';
CREATE INDEX transfers_group_idx ON transfers (to_group_id, created_at DESC);

-- +goose Down
DROP TABLE transfers;
ALTER TABLE dispatches DROP COLUMN expected_assignee, DROP COLUMN in_flight, DROP COLUMN unassign;
ALTER TABLE routed_tickets DROP COLUMN intake_assignee, DROP COLUMN declined_by;
ALTER TABLE routed_tickets DROP CONSTRAINT routed_tickets_state_check;
ALTER TABLE routed_tickets ADD CONSTRAINT routed_tickets_state_check CHECK (state IN ('queued', 'assigned', 'done'));
ALTER TABLE groups DROP CONSTRAINT groups_surge_check, DROP CONSTRAINT groups_overflow_self_check,
    DROP CONSTRAINT groups_overflow_fkey, DROP COLUMN calm_since, DROP COLUMN surge_started_at, DROP COLUMN in_surge,
    DROP COLUMN calm_period_seconds, DROP COLUMN calm_wait_seconds, DROP COLUMN calm_queue_depth,
    DROP COLUMN surge_wait_seconds, DROP COLUMN surge_queue_depth, DROP COLUMN overflow_group_id;
