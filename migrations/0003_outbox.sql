-- The outbox of event-driven workflows: one job per (workflow, event), written by the reactor
-- in the same transaction as its checkpoint (a row of hookledger_checkpoints with projection
-- and schema_name 'reactor', created by the reactor itself on its first run), and every attempt
-- the dispatchers make.
--
-- Invariants:
--   * a job is never enqueued twice: UNIQUE (workflow, position) and UNIQUE (idempotency_key),
--     inserted with ON CONFLICT DO NOTHING together with the reactor's checkpoint;
--   * rebuilding read models never touches the reactor's checkpoint, so reactions never re-run;
--   * a dispatcher holds a job's row lock (FOR UPDATE SKIP LOCKED) from claim until its attempt
--     is recorded, so two dispatchers never send the same job at the same time; delivery is
--     at-least-once (a crash after sending and before COMMIT sends it again, with the same
--     idempotency key).
CREATE TABLE hookledger_jobs (
    id              bigserial   PRIMARY KEY,
    workflow        text        NOT NULL,
    action          text        NOT NULL,
    position        bigint      NOT NULL,
    provider        text        NOT NULL,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (workflow, position)
);
-- Due jobs for the dispatchers; pending and dead ones for status (queue depth, oldest, dead).
CREATE INDEX hookledger_jobs_due ON hookledger_jobs (next_attempt_at) WHERE status = 'pending';
CREATE INDEX hookledger_jobs_open ON hookledger_jobs (status, created_at)
    WHERE status IN ('pending', 'dead');

-- Every attempt, kept: when, how it ended and why.
--   outcome: delivered | retry (failed, will be retried) | dead (failed, no more attempts).
CREATE TABLE hookledger_job_attempts (
    id          bigserial   PRIMARY KEY,
    job_id      bigint      NOT NULL REFERENCES hookledger_jobs (id),
    attempt     integer     NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    outcome     text        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
    error       text,
    detail      text
);
CREATE INDEX hookledger_job_attempts_job ON hookledger_job_attempts (job_id, id);
