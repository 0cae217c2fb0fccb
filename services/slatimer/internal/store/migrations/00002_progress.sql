-- +goose Up
-- Progress reminders for long-open tickets (issue #9). A policy's progress rule; the agent a ticket is
-- assigned to (carried on kefu.sla.progress_due) with assign_seq, the intake sequence of the assignment or
-- reopen that said so (an assignment overtaken by a later event still counts); whether the ticket is
-- resolved (a resolved ticket gets no new reminders from a reclassification); a progress clock's interval
-- and notify flag. A progress clock keeps the reminders fired in warned, its next one in due_at and next_at.

-- {"after_ms": ..., "every_ms": ..., "notify_customer": true}; NULL: no progress rule.
ALTER TABLE policies ADD COLUMN progress jsonb;

ALTER TABLE tickets
    ADD COLUMN assignee_id uuid,
    ADD COLUMN assign_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN resolved boolean NOT NULL DEFAULT false;

ALTER TABLE clocks
    ADD COLUMN every_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN notify_customer boolean NOT NULL DEFAULT false,
    DROP CONSTRAINT clocks_target_check,
    ADD CONSTRAINT clocks_target_check
        CHECK (target IN ('first_response', 'next_response', 'resolution', 'transfer_acceptance', 'progress'));

-- +goose Down
DELETE FROM clocks WHERE target = 'progress';
ALTER TABLE clocks
    DROP CONSTRAINT clocks_target_check,
    ADD CONSTRAINT clocks_target_check CHECK (target IN ('first_response', 'next_response', 'resolution', 'transfer_acceptance')),
    DROP COLUMN notify_customer,
    DROP COLUMN every_ms;
ALTER TABLE tickets DROP COLUMN resolved, DROP COLUMN assign_seq, DROP COLUMN assignee_id;
ALTER TABLE policies DROP COLUMN progress;
