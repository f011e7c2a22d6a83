-- larder's own tables. The job queue lives in the `apalis` schema, managed by
-- apalis-postgres's own migrations.

-- Cached upstream answers. Only workers write rows here.
CREATE TABLE larder_cache (
    key          TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    -- 200: a stored answer; 404: a remembered "not found" (negative entry).
    status       SMALLINT NOT NULL CHECK (status IN (200, 404)),
    content_type TEXT NOT NULL,
    body         BYTEA NOT NULL,
    etag         TEXT NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    -- HIT until fresh_until; STALE (served, refreshed) until stale_until;
    -- served only when a refresh fails until keep_until; pruned after.
    fresh_until  TIMESTAMPTZ NOT NULL,
    stale_until  TIMESTAMPTZ NOT NULL,
    keep_until   TIMESTAMPTZ NOT NULL
);
CREATE INDEX larder_cache_keep_until ON larder_cache (keep_until);
-- Prefix scans (purge, admin listing) use LIKE 'prefix%'.
CREATE INDEX larder_cache_key_prefix ON larder_cache (key text_pattern_ops);

-- At most one fill per key is in flight: this row is the safety net behind
-- the advisory lock that serialises enqueues of one key.
CREATE TABLE larder_inflight (
    key        TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Per-provider GCRA state shared by every worker, on the database clock.
CREATE TABLE larder_rate (
    provider     TEXT PRIMARY KEY,
    tat          TIMESTAMPTZ NOT NULL,
    paused_until TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);

-- Service keys. Only a SHA-256 of the token is kept.
CREATE TABLE larder_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes       TEXT[] NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
