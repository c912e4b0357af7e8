-- Bookkeeping for projections: which generation serves, checkpoints, parked events, and the
-- read-only role for analysts. The generation schemas and public views themselves are created by
-- the projection code (projections/schema.py), because rebuilds create new generations at run time.
CREATE TABLE hookledger_projections (
    name                  text PRIMARY KEY,
    active_generation     integer NOT NULL,
    rebuilding_generation integer,
    rebuild_started_at    timestamptz
);

-- One row per generation schema (live, being rebuilt, or point-in-time). The position is only
-- ever moved in the same transaction that writes the rows it accounts for (exactly once).
CREATE TABLE hookledger_checkpoints (
    projection  text        NOT NULL,
    schema_name text        NOT NULL,
    position    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, schema_name)
);

-- A poison event is parked, visibly, and the projection goes on.
CREATE TABLE hookledger_parked (
    id          bigserial   PRIMARY KEY,
    projection  text        NOT NULL,
    position    bigint      NOT NULL,
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    error       text        NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    status      text        NOT NULL DEFAULT 'parked'
                CHECK (status IN ('parked', 'skipped', 'retried')),
    resolved_at timestamptz,
    UNIQUE (projection, position)
);

-- Analysts: SELECT on the read-model views and the log view, nothing else. Roles are
-- cluster-wide, so creation tolerates a concurrent creator.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hookledger_analyst') THEN
        CREATE ROLE hookledger_analyst NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO hookledger_analyst;
GRANT SELECT ON webhook_events TO hookledger_analyst;
