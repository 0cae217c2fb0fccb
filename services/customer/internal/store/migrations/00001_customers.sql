-- +goose Up
-- Customer records. Personal data never sits here in plaintext: each customer's personal fields are sealed
-- (AES-256-GCM) under the customer's own data key, which is stored wrapped by a configured master key
-- (data_key, data_key_id); exact-match lookups go through keyed HMAC blind indexes (*_index columns).
-- Erasure destroys the data key and deletes the sealed fields, contacts and keys (crypto-shredding).

CREATE TABLE tiers (
    code         text        NOT NULL,
    display_name text        NOT NULL,
    builtin      boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tiers_pkey PRIMARY KEY (code)
);

INSERT INTO tiers (code, display_name, builtin) VALUES
    ('standard', 'Standard', true),
    ('vip', 'VIP', true),
    ('key_account', 'Key account', true);

CREATE TABLE customers (
    id                uuid        NOT NULL,
    kind              text        NOT NULL,
    state             text        NOT NULL DEFAULT 'active',
    tier              text        NOT NULL,
    preferred_channel text        NOT NULL DEFAULT '',
    -- The customer's data key, wrapped by master key data_key_id; NULL once erased.
    data_key          bytea,
    data_key_id       text,
    -- Sealed JSON of the personal profile (individual: name, ID number, gender, age, occupation;
    -- enterprise: credit code, registered address, contact persons' names).
    profile           bytea,
    -- Where the profile came from (source, detail, time): no personal data.
    provenance        jsonb,
    -- Enterprises' register data that is not personal (a sole proprietor's company name is erased too).
    company_name      text,
    enterprise_size   text        NOT NULL DEFAULT '',
    industry          text        NOT NULL DEFAULT '',
    sole_proprietor   boolean     NOT NULL DEFAULT false,
    national_id_index bytea,
    credit_code_index bytea,
    merged_into       uuid,
    -- Incremented by every change: the etag and the aggregate sequence of kefu.customer.* events.
    version           bigint      NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    erased_at         timestamptz,
    CONSTRAINT customers_pkey PRIMARY KEY (id),
    CONSTRAINT customers_kind_check CHECK (kind IN ('individual', 'enterprise')),
    CONSTRAINT customers_state_check CHECK (state IN ('active', 'merged', 'erased')),
    CONSTRAINT customers_tier_fkey FOREIGN KEY (tier) REFERENCES tiers (code),
    CONSTRAINT customers_merged_into_fkey FOREIGN KEY (merged_into) REFERENCES customers (id),
    CONSTRAINT customers_merged_check CHECK ((state = 'merged') = (merged_into IS NOT NULL)),
    CONSTRAINT customers_erased_check CHECK (state <> 'erased' OR (data_key IS NULL AND profile IS NULL
        AND national_id_index IS NULL AND credit_code_index IS NULL AND erased_at IS NOT NULL)),
    CONSTRAINT customers_key_check CHECK (state = 'erased' OR (data_key IS NOT NULL AND data_key_id IS NOT NULL))
);

-- UUIDv7 ids sort by creation: lists page newest first on the primary key (with filters on these).
CREATE INDEX customers_state_tier_idx ON customers (state, tier, id);
CREATE INDEX customers_national_id_index_idx ON customers (national_id_index) WHERE national_id_index IS NOT NULL;
CREATE INDEX customers_credit_code_index_idx ON customers (credit_code_index) WHERE credit_code_index IS NOT NULL;
CREATE INDEX customers_data_key_id_idx ON customers (data_key_id) WHERE data_key_id IS NOT NULL;
CREATE INDEX customers_merged_into_idx ON customers (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE contact_persons (
    id                 uuid    NOT NULL,
    customer_id        uuid    NOT NULL,
    position           integer NOT NULL,
    linked_customer_id uuid,
    title              text    NOT NULL DEFAULT '',
    CONSTRAINT contact_persons_pkey PRIMARY KEY (id),
    CONSTRAINT contact_persons_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT contact_persons_linked_fkey FOREIGN KEY (linked_customer_id) REFERENCES customers (id)
);

CREATE INDEX contact_persons_customer_idx ON contact_persons (customer_id);

CREATE TABLE contacts (
    id          uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    person_id   uuid,
    kind        text        NOT NULL,
    -- The value sealed under the customer's data key.
    value       bytea       NOT NULL,
    -- HMAC of the normalised value, domain-separated by kind.
    value_index bytea       NOT NULL,
    provenance  jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT contacts_pkey PRIMARY KEY (id),
    CONSTRAINT contacts_kind_check CHECK (kind IN ('phone', 'email', 'wechat')),
    CONSTRAINT contacts_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT contacts_person_fkey FOREIGN KEY (person_id) REFERENCES contact_persons (id) ON DELETE SET NULL
);

CREATE INDEX contacts_value_index_idx ON contacts (value_index);
CREATE INDEX contacts_customer_idx ON contacts (customer_id);

CREATE TABLE consents (
    contact_id   uuid        NOT NULL,
    position     integer     NOT NULL,
    purpose      text        NOT NULL,
    granted_at   timestamptz NOT NULL,
    channel      text        NOT NULL,
    withdrawn_at timestamptz,
    CONSTRAINT consents_pkey PRIMARY KEY (contact_id, position),
    CONSTRAINT consents_contact_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE
);

-- Order and member numbers (normalised: trimmed, upper case). A number belongs to one customer at a time.
CREATE TABLE business_keys (
    kind        text        NOT NULL,
    value       text        NOT NULL,
    customer_id uuid        NOT NULL,
    provenance  jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT business_keys_pkey PRIMARY KEY (kind, value),
    CONSTRAINT business_keys_kind_check CHECK (kind IN ('order_number', 'member_number')),
    CONSTRAINT business_keys_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
);

CREATE INDEX business_keys_customer_idx ON business_keys (customer_id);

-- VerifyIdentity attempts: the rate limit counts them and the customer's export lists them. subject_index
-- is the blind index of the contact or customer the attempt named (so unknown contacts are limited too).
CREATE TABLE verification_attempts (
    id            uuid        NOT NULL,
    subject_index bytea       NOT NULL,
    customer_id   uuid,
    attempted_at  timestamptz NOT NULL,
    verified      boolean     NOT NULL,
    principal     text        NOT NULL,
    CONSTRAINT verification_attempts_pkey PRIMARY KEY (id),
    CONSTRAINT verification_attempts_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL
);

CREATE INDEX verification_attempts_subject_idx ON verification_attempts (subject_index, attempted_at);
CREATE INDEX verification_attempts_customer_idx ON verification_attempts (customer_id, attempted_at) WHERE customer_id IS NOT NULL;

-- +goose Down
DROP TABLE verification_attempts, business_keys, consents, contacts, contact_persons, customers, tiers;
