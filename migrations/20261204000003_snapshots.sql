-- History of lists whose provider keeps it (hot lists): every successful
-- fill whose answer differs from the key's last snapshot, gzipped.
CREATE TABLE larder_snapshots (
    key         text NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    digest      bigint NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (key, fetched_at)
);
CREATE INDEX larder_snapshots_fetched ON larder_snapshots (fetched_at);
