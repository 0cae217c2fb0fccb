-- +goose Up
-- The counts the engine reads on every decision, kept as they change instead of counted each time: an
-- agent's load (their tickets in state assigned) and a group's queue depth (its tickets in state queued).
-- Counting routed_tickets made every placement cost time in proportion to the open tickets of the group's
-- agents and to its queue. A trigger on routed_tickets appends a delta row in the transaction that changes
-- a ticket (an insert: it takes no row lock, so it adds nothing to the engine's lock order), and the service
-- folds the deltas into routing_counts every second (store.FoldCounts). A count is routing_counts.n plus
-- the deltas not yet folded, as the reading statement sees them: the same number counting would give.
CREATE TABLE routing_counts (
    kind text   NOT NULL,
    id   uuid   NOT NULL,
    n    bigint NOT NULL,
    CONSTRAINT routing_counts_pkey PRIMARY KEY (kind, id),
    CONSTRAINT routing_counts_kind_check CHECK (kind IN ('agent', 'queue'))
);

CREATE TABLE routing_count_deltas (
    kind text    NOT NULL,
    id   uuid    NOT NULL,
    d    integer NOT NULL
);
CREATE INDEX routing_count_deltas_idx ON routing_count_deltas (kind, id);

-- +goose StatementBegin
CREATE FUNCTION routed_tickets_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.state = 'assigned' AND OLD.assignee_id IS NOT NULL THEN
            INSERT INTO routing_count_deltas (kind, id, d) VALUES ('agent', OLD.assignee_id, -1);
        ELSIF OLD.state = 'queued' AND OLD.group_id IS NOT NULL THEN
            INSERT INTO routing_count_deltas (kind, id, d) VALUES ('queue', OLD.group_id, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.state = 'assigned' AND NEW.assignee_id IS NOT NULL THEN
            INSERT INTO routing_count_deltas (kind, id, d) VALUES ('agent', NEW.assignee_id, 1);
        ELSIF NEW.state = 'queued' AND NEW.group_id IS NOT NULL THEN
            INSERT INTO routing_count_deltas (kind, id, d) VALUES ('queue', NEW.group_id, 1);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The triggers come first: creating them locks routed_tickets against writes until this migration commits,
-- so the counts below are taken with nothing changing under them.
CREATE TRIGGER routed_tickets_count_insert_delete AFTER INSERT OR DELETE ON routed_tickets
    FOR EACH ROW EXECUTE FUNCTION routed_tickets_count();
CREATE TRIGGER routed_tickets_count_update AFTER UPDATE ON routed_tickets
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
        OR OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION routed_tickets_count();

INSERT INTO routing_counts (kind, id, n)
SELECT 'agent', assignee_id, count(*) FROM routed_tickets WHERE state = 'assigned' AND assignee_id IS NOT NULL
GROUP BY assignee_id;
INSERT INTO routing_counts (kind, id, n)
SELECT 'queue', group_id, count(*) FROM routed_tickets WHERE state = 'queued' AND group_id IS NOT NULL
GROUP BY group_id;

-- A queue's oldest ticket, for the surge check, without reading the whole queue.
CREATE INDEX routed_tickets_oldest_idx ON routed_tickets (group_id, enqueued_at) WHERE state = 'queued';

-- +goose Down
DROP INDEX routed_tickets_oldest_idx;
DROP TRIGGER routed_tickets_count_update ON routed_tickets;
DROP TRIGGER routed_tickets_count_insert_delete ON routed_tickets;
DROP FUNCTION routed_tickets_count();
DROP TABLE routing_count_deltas;
DROP TABLE routing_counts;
