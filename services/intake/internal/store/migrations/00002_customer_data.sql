-- Issue #5, the customer service's side of tickets: the customer's tier and the identity check a submit
-- resolved through the customer service, and the erasure of a customer's personal data on their request
-- (kefu.customer.erased, PIPL art. 47), the one change the timeline ever allows.

-- +goose Up

-- customer_tier: the customer service's tier code at submit ('' when it was not resolved there).
-- verification_*: the outcome of checking the submit's identity facts; all NULL when none was made. The fact
-- itself is never stored.
-- erased_at, customer_words_erased: when the customer's personal data was erased from the ticket, and
-- whether their own words went too (see erased_text below).
ALTER TABLE tickets
    ADD COLUMN customer_tier         text        NOT NULL DEFAULT '',
    ADD COLUMN verification_method   text,
    ADD COLUMN verification_verified boolean,
    ADD COLUMN verified_at           timestamptz,
    ADD COLUMN erased_at             timestamptz,
    ADD COLUMN customer_words_erased boolean     NOT NULL DEFAULT false,
    ADD CONSTRAINT tickets_verification_check CHECK (
        (verification_method IS NULL AND verification_verified IS NULL AND verified_at IS NULL) OR
        (verification_method IN ('order_number', 'phone_last4') AND verification_verified IS NOT NULL
            AND verified_at IS NOT NULL)),
    ADD CONSTRAINT tickets_erasure_check CHECK (erased_at IS NOT NULL OR NOT customer_words_erased);

-- Customers whose personal data was erased, so a later kefu.customer.merged that moves tickets onto one
-- (delivered late after a retry) erases the moved tickets too. Holds the customer service's ids only.
CREATE TABLE erased_customers (
    customer_id    uuid        NOT NULL,
    customer_words boolean     NOT NULL,
    erased_at      timestamptz NOT NULL,
    CONSTRAINT erased_customers_pkey PRIMARY KEY (customer_id)
);

-- When the customer's words in an entry were erased; NULL otherwise.
ALTER TABLE timeline_entries ADD COLUMN erased_at timestamptz;

-- The erasure's replacements, in one place for the erasing UPDATE and the timeline's guard. The marker
-- must equal ticket.ErasedText (store tests check it). Empty text stays empty: nothing was said.
-- +goose StatementBegin
CREATE FUNCTION erased_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL OR t = '' THEN t ELSE '[erased]' END
$$;
-- +goose StatementEnd

-- An attachment keeps its type and size (what it was, for the record) and loses the name the customer
-- gave it and the url of the customer's file. NULL (an entry without attachments) stays NULL.
-- +goose StatementBegin
CREATE FUNCTION erased_attachments(a jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN a IS NULL THEN NULL ELSE coalesce(
        (SELECT jsonb_agg(e || '{"name": "[erased]", "url": ""}'::jsonb ORDER BY i)
           FROM jsonb_array_elements(a) WITH ORDINALITY AS x (e, i)),
        '[]'::jsonb) END
$$;
-- +goose StatementEnd

-- A key fact keeps its name (product, order_amount) and loses its value.
-- +goose StatementBegin
CREATE FUNCTION erased_key_facts(a jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(
        (SELECT jsonb_agg(jsonb_set(e, '{value}', '"[erased]"'::jsonb) ORDER BY i)
           FROM jsonb_array_elements(a) WITH ORDINALITY AS x (e, i)),
        '[]'::jsonb)
$$;
-- +goose StatementEnd

-- The timeline stays history, with exactly one exception: erasing the customer's words in a customer
-- message or a satisfaction entry, once. Such an UPDATE sets erased_at, replaces text and attachments with
-- their erased forms and changes nothing else; any other UPDATE, and every DELETE, is refused as before.
-- +goose StatementBegin
CREATE FUNCTION timeline_entries_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL
        AND OLD.kind IN ('customer_message_added', 'rated')
        AND NEW.text IS NOT DISTINCT FROM erased_text(OLD.text)
        AND NEW.attachments IS NOT DISTINCT FROM erased_attachments(OLD.attachments)
        AND (NEW.entry_id, NEW.ticket_id, NEW.seq, NEW.kind, NEW.actor_kind, NEW.actor_id, NEW.created_at,
             NEW.channel, NEW.from_status, NEW.to_status, NEW.asks_customer, NEW.group_id, NEW.assignee_id)
            IS NOT DISTINCT FROM
            (OLD.entry_id, OLD.ticket_id, OLD.seq, OLD.kind, OLD.actor_kind, OLD.actor_id, OLD.created_at,
             OLD.channel, OLD.from_status, OLD.to_status, OLD.asks_customer, OLD.group_id, OLD.assignee_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'timeline entries are immutable (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

DROP TRIGGER timeline_entries_immutable ON timeline_entries;
CREATE TRIGGER timeline_entries_immutable
    BEFORE UPDATE OR DELETE ON timeline_entries
    FOR EACH ROW EXECUTE FUNCTION timeline_entries_guard();

-- +goose Down
DROP TRIGGER timeline_entries_immutable ON timeline_entries;
CREATE TRIGGER timeline_entries_immutable
    BEFORE UPDATE OR DELETE ON timeline_entries
    FOR EACH ROW EXECUTE FUNCTION timeline_entries_immutable();
DROP FUNCTION timeline_entries_guard();
DROP FUNCTION erased_key_facts(jsonb);
DROP FUNCTION erased_attachments(jsonb);
DROP FUNCTION erased_text(text);
ALTER TABLE timeline_entries DROP COLUMN erased_at;
DROP TABLE erased_customers;
ALTER TABLE tickets
    DROP CONSTRAINT tickets_erasure_check,
    DROP CONSTRAINT tickets_verification_check,
    DROP COLUMN customer_words_erased,
    DROP COLUMN erased_at,
    DROP COLUMN verified_at,
    DROP COLUMN verification_verified,
    DROP COLUMN verification_method,
    DROP COLUMN customer_tier;
