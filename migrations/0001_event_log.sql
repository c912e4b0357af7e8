-- The append-only event log.
--
-- Layout: eventsourcing 9.5.x's stored-events table (originator_id, originator_version, topic,
-- state, notification_id) so the library's Application, notification log and ProjectionRunner
-- read every event we append (its Application named "HookLedger" uses this table name), plus
-- our own SQL-queryable columns.
--
-- Invariants:
--   * one row per (provider, event_id); originator_id = uuid5(provider:event_id), version 1;
--   * state = <JSON prefix> || raw body || '}' : the raw body is stored once, byte for byte,
--     starting at byte body_offset (0-based), and the library decodes it as the "payload" field;
--   * notification_id is the global position; writers hold LOCK ... IN EXCLUSIVE MODE while
--     inserting, so positions become visible in commit order and a reader tailing
--     "position > last seen" never skips a committed event;
--   * rows are never updated, deleted or truncated (triggers below).
CREATE TABLE hookledger_events (
    originator_id          uuid        NOT NULL,
    originator_version     bigint      NOT NULL,
    topic                  text        NOT NULL,
    state                  bytea       NOT NULL,
    notification_id        bigserial   NOT NULL,
    provider               text        NOT NULL,
    event_id               text        NOT NULL,
    event_type             text        NOT NULL,
    occurred_at            timestamptz,
    received_at            timestamptz NOT NULL,
    body_offset            integer     NOT NULL CHECK (body_offset > 0),
    headers                jsonb       NOT NULL,
    signature_scheme       text        NOT NULL,
    signature_secret_index smallint    NOT NULL,
    signature_skew_seconds integer,
    PRIMARY KEY (originator_id, originator_version),
    CONSTRAINT hookledger_events_provider_event_id_key UNIQUE (provider, event_id)
);
CREATE UNIQUE INDEX hookledger_events_notification_id_idx
    ON hookledger_events (notification_id ASC);

CREATE FUNCTION hookledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hookledger_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER hookledger_events_append_only
    BEFORE UPDATE OR DELETE ON hookledger_events
    FOR EACH ROW EXECUTE FUNCTION hookledger_refuse_change();
CREATE TRIGGER hookledger_events_no_truncate
    BEFORE TRUNCATE ON hookledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION hookledger_refuse_change();

-- One round trip appends a whole group-commit batch in its own implicit transaction:
-- table lock (gap-safe order), NOTIFY (delivered at commit), insert; duplicates of rows already
-- stored are skipped by the unique keys, never by failing the batch. Returns the rows inserted.
CREATE FUNCTION hookledger_append(
    p_topic text,
    p_originator_ids uuid[],
    p_states bytea[],
    p_providers text[],
    p_event_ids text[],
    p_event_types text[],
    p_occurred_at timestamptz[],
    p_received_at timestamptz[],
    p_body_offsets integer[],
    p_headers text[],
    p_schemes text[],
    p_secret_indexes smallint[],
    p_skews integer[]
) RETURNS TABLE (appended_id uuid, appended_position bigint)
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE hookledger_events IN EXCLUSIVE MODE;
    NOTIFY hookledger_events;
    RETURN QUERY
    INSERT INTO hookledger_events AS e (
        originator_id, originator_version, topic, state, provider, event_id, event_type,
        occurred_at, received_at, body_offset, headers, signature_scheme,
        signature_secret_index, signature_skew_seconds)
    SELECT u.oid, 1, p_topic, u.state, u.provider, u.event_id, u.event_type,
           u.occurred_at, u.received_at, u.body_offset, u.headers::jsonb, u.scheme,
           u.secret_index, u.skew
    FROM unnest(p_originator_ids, p_states, p_providers, p_event_ids, p_event_types,
                p_occurred_at, p_received_at, p_body_offsets, p_headers, p_schemes,
                p_secret_indexes, p_skews)
         AS u(oid, state, provider, event_id, event_type, occurred_at, received_at,
              body_offset, headers, scheme, secret_index, skew)
    ON CONFLICT DO NOTHING
    RETURNING e.originator_id, e.notification_id;
END
$$;

-- The raw body as stored, and as jsonb for people (NULL where jsonb cannot hold it, e.g. \u0000).
CREATE FUNCTION hookledger_raw_body(state bytea, body_offset integer) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT substring(state FROM body_offset + 1 FOR octet_length(state) - body_offset - 1)
$$;
CREATE FUNCTION hookledger_payload(state bytea, body_offset integer) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN convert_from(hookledger_raw_body(state, body_offset), 'UTF8')::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- Public contract: one row per event, for people and SQL tools.
CREATE VIEW webhook_events AS
SELECT notification_id                            AS position,
       provider,
       event_id,
       event_type,
       occurred_at,
       received_at,
       hookledger_payload(state, body_offset)     AS payload,
       hookledger_raw_body(state, body_offset)    AS raw_body,
       headers,
       signature_scheme,
       signature_secret_index,
       signature_skew_seconds
FROM hookledger_events;
