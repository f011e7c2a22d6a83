-- Assets (images): where each source URL's bytes are stored. The bytes live
-- in asset storage under a content-addressed name; many URLs (sizes, mirrors)
-- may point at one object.
CREATE TABLE larder_assets (
    url          text PRIMARY KEY,
    provider     text NOT NULL,
    sha256       text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    object       text NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX larder_assets_sha256 ON larder_assets (sha256);
