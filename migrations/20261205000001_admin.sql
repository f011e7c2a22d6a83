-- Operators' changes to a provider, made through the admin API and applied
-- by every process (each re-reads this small table every few seconds; the
-- API at once, on the `larder_providers` notification). A NULL column is
-- "as configured".
CREATE TABLE larder_provider_overrides (
    provider    text PRIMARY KEY,
    enabled     boolean,
    rate        text,
    ttl_seconds double precision,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A service key's quota: `quota_calls` requests per `quota_seconds`.
ALTER TABLE larder_keys
    ADD COLUMN quota_calls   integer,
    ADD COLUMN quota_seconds integer;

-- Requests counted against quotas, per key and fixed window: each API
-- process counts in memory and adds its count here a few times a second,
-- reading back every process's total (no write per request).
CREATE TABLE larder_quota_usage (
    key_id       bigint NOT NULL,
    window_start bigint NOT NULL,    -- seconds since the epoch
    count        bigint NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
