-- Entries are stored compressed (see jobs/src/coding.rs): `encoding` names
-- the body's content coding, NULL for a body stored as it came.
ALTER TABLE larder_cache ADD COLUMN encoding TEXT CHECK (encoding IN ('gzip'));
-- The body is compressed already: no second compression by TOAST, and a
-- row up to a heap page stays inline (one page read per hit, not a TOAST
-- index lookup and chunk reads).
ALTER TABLE larder_cache ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE larder_cache SET (toast_tuple_target = 8160);

DROP FUNCTION larder_complete(bigint, text, text, text, smallint, text, bytea, text,
                              float8, float8, float8, text, text);

-- Store an entry and end the fill owned by p_job (any fill when NULL); the
-- notification always goes out, since the entry changed.
CREATE FUNCTION larder_complete(
    p_lock bigint, p_key text, p_job text, p_provider text, p_status smallint,
    p_content_type text, p_body bytea, p_encoding text, p_etag text,
    p_fresh float8, p_stale float8, p_keep float8, p_channel text, p_notice text
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    INSERT INTO larder_cache
        (key, provider, status, content_type, body, encoding, etag,
         fetched_at, fresh_until, stale_until, keep_until)
    VALUES (p_key, p_provider, p_status, p_content_type, p_body, p_encoding, p_etag, t,
            t + make_interval(secs => p_fresh),
            t + make_interval(secs => p_fresh + p_stale),
            t + make_interval(secs => p_fresh + p_keep))
    ON CONFLICT (key) DO UPDATE SET
        status = EXCLUDED.status, content_type = EXCLUDED.content_type,
        body = EXCLUDED.body, encoding = EXCLUDED.encoding, etag = EXCLUDED.etag,
        fetched_at = EXCLUDED.fetched_at,
        fresh_until = EXCLUDED.fresh_until, stale_until = EXCLUDED.stale_until,
        keep_until = EXCLUDED.keep_until;
    DELETE FROM larder_inflight WHERE key = p_key AND (p_job IS NULL OR job_id = p_job);
    PERFORM pg_notify(p_channel, p_notice);
END $$;
