-- One applied status webhook's database work, statement for statement as tuvens-api runs it
-- (apps/api/src/ticketing/apply-status-change.ts), without a transaction: read the event with its row
-- version while looking for the webhook's receipt; then, in one statement and only if the row version
-- is unchanged, update every ticketing field of the event, record the receipt, audit and append to
-- the change log. The API announces the change with NOTIFY afterwards, folding the announcements made
-- meanwhile into one, so that is left out here.
-- bench/webhook-ingest.ts runs it with -D base=<first bench event id> -D per=<events per client>, so
-- each client, like each of the bench's workers, owns its own events and no two clients wait on one row.
-- pgbench reads every ":word" as a variable, so colons inside literals are written \x3a.
\set eid :base + :client_id * :per + random(0, :per - 1)
\set msg random(1, 1000000000000000)
SELECT events.*, exists (SELECT 1 FROM webhook_receipts WHERE webhook_receipts.id = 'pgbench_' || :client_id || '_' || :msg) AS received, xmin::text AS version FROM events WHERE id = :eid
\gset read_
WITH updated AS (UPDATE events SET ticketing_status = CASE WHEN ticketing_status = 'active' THEN 'inactive' ELSE 'active' END, ticketing_enabled = true, "hasTicketing" = true, hi_events_event_id = 7000 + :eid, "hiEventsEventId" = 7000 + :eid, hi_events_event_url = E'http\x3a//127.0.0.1\x3a4200/event/' || (7000 + :eid) || '/bench-event', "contactData" = jsonb_build_object('hiEventsEventId', 7000 + :eid, 'hiEventsStatus', 'LIVE', 'hiEventsLastUpdated', now()), ticketing_updated_at = now(), updated_at = now() WHERE id = :eid AND xmin = :read_version::xid RETURNING id), receipt AS (INSERT INTO webhook_receipts (id, received_at, event_id, outcome) SELECT 'pgbench_' || :client_id || '_' || :msg, now(), :eid, 'applied' FROM updated), audit AS (INSERT INTO audit_log (occurred_at, action, outcome, actor, actor_user_id, reason, event_id, ip, user_agent, details) SELECT now(), 'ticketing.status_change', 'success', 'hi-events', NULL, NULL, :eid, '127.0.0.1', NULL, jsonb_build_object('from', 'active', 'to', 'inactive', 'applied', true, 'webhookId', 'pgbench_' || :client_id || '_' || :msg) FROM updated) INSERT INTO ticketing_status_changes (event_id, from_status, to_status, hi_events_event_id, hi_events_event_url, hi_events_status, source, webhook_id, actor_user_id, reason, occurred_at, recorded_at) SELECT :eid, 'active', 'inactive', 7000 + :eid, E'http\x3a//127.0.0.1\x3a4200/event/' || (7000 + :eid) || '/bench-event', 'LIVE', 'hi-events', 'pgbench_' || :client_id || '_' || :msg, NULL, 'bench', now(), now() FROM updated RETURNING id;
