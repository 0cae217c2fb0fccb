-- +goose Up
-- One row per rate-limited key: the token bucket every replica of the service leases tokens from
-- (ratelimit.Limiter), holding tokens as of at. A key without a row has a full bucket; the first lease
-- inserts it. The arithmetic is auth.Bucket's, done by the replica under the row lock, so at is the
-- leasing replica's clock.
--
-- Rows are tiny and rewritten on every lease. A fill factor of 50 leaves room on each page for the new row
-- version, and as no indexed column changes the update is HOT: no index entry, and pruning instead of
-- vacuum reclaims the old version.
CREATE TABLE rate_buckets (
    bucket_key text             NOT NULL,
    tokens     double precision NOT NULL,
    at         timestamptz      NOT NULL,
    CONSTRAINT rate_buckets_pkey PRIMARY KEY (bucket_key),
    CONSTRAINT rate_buckets_tokens_check CHECK (tokens >= 0)
) WITH (fillfactor = 50);

-- +goose Down
DROP TABLE rate_buckets;
