-- Login tokens (TheTVDB, Spotify) shared by every worker of every process:
-- one row per provider, replaced under an advisory lock so that concurrent
-- expiry makes one login.
CREATE TABLE larder_tokens (
    provider   TEXT PRIMARY KEY,
    token      TEXT NOT NULL,
    -- Renewed from here on, ahead of expiry.
    renew_at   TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Reserve a rate slot for a provider (GCRA, database clock), unless it
-- would be more than p_horizon seconds away: then nothing is booked, so a
-- refused fill leaves the schedule as it was. Returns how long to wait, the
-- schedule's end after this reservation (µs since the epoch: names the slot
-- for a hand-back) and whether it was granted.
CREATE FUNCTION larder_reserve(
    p_provider text, p_interval float8, p_tolerance float8, p_horizon float8
) RETURNS TABLE (wait float8, mark int8, granted bool) LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := clock_timestamp();
    cur_tat timestamptz;
    cur_pause timestamptz;
    new_tat timestamptz;
    w float8;
BEGIN
    INSERT INTO larder_rate (provider, tat) VALUES (p_provider, t)
        ON CONFLICT (provider) DO NOTHING;
    SELECT r.tat, r.paused_until INTO cur_tat, cur_pause
        FROM larder_rate r WHERE r.provider = p_provider FOR UPDATE;
    new_tat := GREATEST(cur_tat, t, cur_pause) + make_interval(secs => p_interval);
    w := GREATEST(0, EXTRACT(EPOCH FROM
            GREATEST(new_tat - make_interval(secs => p_interval + p_tolerance), cur_pause) - t))::float8;
    IF w > p_horizon THEN
        RETURN QUERY SELECT w, (EXTRACT(EPOCH FROM cur_tat) * 1000000)::int8, false;
        RETURN;
    END IF;
    UPDATE larder_rate SET tat = new_tat WHERE provider = p_provider;
    RETURN QUERY SELECT w, (EXTRACT(EPOCH FROM new_tat) * 1000000)::int8, true;
END $$;

-- Each provider's last failure and last success, written by workers (at
-- most every few seconds per provider and process), read by /health.
CREATE TABLE larder_provider_health (
    provider      TEXT PRIMARY KEY,
    last_error    TEXT,
    last_error_at TIMESTAMPTZ,
    last_ok_at    TIMESTAMPTZ
);

-- Counting a provider's recorded fills (the queue cap) scans by key prefix.
CREATE INDEX larder_inflight_key_prefix ON larder_inflight (key text_pattern_ops);
