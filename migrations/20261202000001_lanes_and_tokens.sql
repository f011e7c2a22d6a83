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
