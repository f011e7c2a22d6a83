-- Ending a fill in one round trip. Each call runs as one transaction: the
-- advisory lock on the key (the same one enqueues take) is held until it
-- commits, so the entry, the end of the in-flight record and the
-- notification land together.

-- Store an entry and end the fill owned by p_job (any fill when NULL); the
-- notification always goes out, since the entry changed.
CREATE FUNCTION larder_complete(
    p_lock bigint, p_key text, p_job text, p_provider text, p_status smallint,
    p_content_type text, p_body bytea, p_etag text,
    p_fresh float8, p_stale float8, p_keep float8, p_channel text, p_notice text
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    INSERT INTO larder_cache
        (key, provider, status, content_type, body, etag,
         fetched_at, fresh_until, stale_until, keep_until)
    VALUES (p_key, p_provider, p_status, p_content_type, p_body, p_etag, t,
            t + make_interval(secs => p_fresh),
            t + make_interval(secs => p_fresh + p_stale),
            t + make_interval(secs => p_fresh + p_keep))
    ON CONFLICT (key) DO UPDATE SET
        status = EXCLUDED.status, content_type = EXCLUDED.content_type,
        body = EXCLUDED.body, etag = EXCLUDED.etag, fetched_at = EXCLUDED.fetched_at,
        fresh_until = EXCLUDED.fresh_until, stale_until = EXCLUDED.stale_until,
        keep_until = EXCLUDED.keep_until;
    DELETE FROM larder_inflight WHERE key = p_key AND (p_job IS NULL OR job_id = p_job);
    PERFORM pg_notify(p_channel, p_notice);
END $$;

-- End the fill owned by p_job (any fill when NULL) without storing, and
-- announce p_notice (a failure, or "stored" when the job found the entry
-- fresh) only when a fill was ended: a superseded job's outcome is not the
-- live fill's.
CREATE FUNCTION larder_end_fill(p_lock bigint, p_key text, p_job text, p_channel text, p_notice text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    DELETE FROM larder_inflight WHERE key = p_key AND (p_job IS NULL OR job_id = p_job);
    IF FOUND THEN
        PERFORM pg_notify(p_channel, p_notice);
    END IF;
END $$;
