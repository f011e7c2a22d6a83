-- The scheduler: each (schedule, tick) fires once however many schedulers
-- run: the row is written in the same transaction as the jobs it enqueues.
CREATE TABLE larder_ticks (
    schedule  text NOT NULL,
    tick      timestamptz NOT NULL,
    enqueued  integer NOT NULL DEFAULT 0,
    fired_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, tick)
);

-- Hits per key and minute, counted in each API process's memory and added
-- here in batches: refresh-ahead reads which keys are popular.
CREATE TABLE larder_hits (
    key     text NOT NULL,
    minute  timestamptz NOT NULL,
    hits    integer NOT NULL,
    PRIMARY KEY (key, minute)
);
CREATE INDEX larder_hits_minute ON larder_hits (minute);
