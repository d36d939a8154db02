-- One applied status webhook's database work, statement for statement as tuvens-api runs it
-- (apps/api/src/ticketing/apply-status-change.ts and change-log.ts): lock the event, look for the
-- receipt, record it, update every ticketing field of the event, audit, take the change-order lock,
-- append to the change log and notify, in one transaction. bench/webhook-ingest.ts runs it with
-- -D base=<first bench event id> -D per=<events per client>, so each client, like each of the
-- bench's workers, owns its own events and no two clients wait on one row.
-- pgbench reads every ":word" as a variable, so colons inside literals are written \x3a.
\set eid :base + :client_id * :per + random(0, :per - 1)
\set msg random(1, 1000000000000000)
BEGIN;
SELECT * FROM events WHERE id = :eid FOR UPDATE;
SELECT id FROM webhook_receipts WHERE id = 'pgbench_' || :client_id || '_' || :msg;
INSERT INTO webhook_receipts (id, received_at, event_id, outcome) VALUES ('pgbench_' || :client_id || '_' || :msg, now(), :eid, 'applied') ON CONFLICT (id) DO NOTHING RETURNING id;
UPDATE events SET ticketing_status = CASE WHEN ticketing_status = 'active' THEN 'inactive' ELSE 'active' END, ticketing_enabled = true, "hasTicketing" = true, hi_events_event_id = 7000 + :eid, "hiEventsEventId" = 7000 + :eid, hi_events_event_url = E'http\x3a//127.0.0.1\x3a4200/event/' || (7000 + :eid) || '/bench-event', "contactData" = jsonb_build_object('hiEventsEventId', 7000 + :eid, 'hiEventsStatus', 'LIVE', 'hiEventsLastUpdated', now()), ticketing_updated_at = now(), updated_at = now() WHERE id = :eid RETURNING *;
INSERT INTO audit_log (occurred_at, action, outcome, actor, actor_user_id, reason, event_id, ip, user_agent, details) VALUES (now(), 'ticketing.status_change', 'success', 'hi-events', NULL, NULL, :eid, '127.0.0.1', NULL, jsonb_build_object('from', 'active', 'to', 'inactive', 'applied', true, 'webhookId', 'pgbench_' || :client_id || '_' || :msg));
SELECT pg_advisory_xact_lock(7401002);
WITH appended AS (INSERT INTO ticketing_status_changes (event_id, from_status, to_status, hi_events_event_id, hi_events_event_url, hi_events_status, source, webhook_id, actor_user_id, reason, occurred_at, recorded_at) VALUES (:eid, 'active', 'inactive', 7000 + :eid, E'http\x3a//127.0.0.1\x3a4200/event/' || (7000 + :eid) || '/bench-event', 'LIVE', 'hi-events', 'pgbench_' || :client_id || '_' || :msg, NULL, 'bench', now(), now()) RETURNING *) SELECT appended.*, pg_notify('ticketing_status_changes', appended.id::text)::text AS notified FROM appended;
COMMIT;
