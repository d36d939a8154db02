import { type Kysely, sql } from 'kysely';

/**
 * The public numbering of the change log (docs/contract.md#sse): `public_seq` counts only the changes
 * of public events, from a sequence of its own, so that a viewer who sees only public events is given
 * ids that say nothing about the changes of private ones. A trigger numbers every row as it is
 * inserted, in the transaction that records the change, whichever code (or version of it) writes the
 * row; existing rows of public events are numbered in change-log order.
 *
 * Invariant the readers rely on: a row has a `public_seq` exactly when its event was public when the
 * row was written, and numbers are never reused. They may skip one (a transaction that drew it rolled
 * back), and concurrent transactions may commit them out of order, as with `id`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Nothing is appended meanwhile: the backfill's numbers stay below the trigger's first one.
  await sql`lock table ticketing_status_changes in share row exclusive mode`.execute(db);
  await sql`create sequence ticketing_changes_public_seq as bigint`.execute(db);
  await db.schema.alterTable('ticketing_status_changes').addColumn('public_seq', 'bigint').execute();
  await sql`
    update ticketing_status_changes as change
    set public_seq = numbered.public_seq
    from (
      select change.id, row_number() over (order by change.id) as public_seq
      from ticketing_status_changes as change
      join events on events.id = change.event_id
      where events.visibility = 'public'
    ) as numbered
    where change.id = numbered.id
  `.execute(db);
  await sql`
    select setval('ticketing_changes_public_seq', coalesce(max(public_seq), 0) + 1, false)
    from ticketing_status_changes
  `.execute(db);
  await db.schema
    .createIndex('ticketing_status_changes_public_seq_idx')
    .on('ticketing_status_changes')
    .column('public_seq')
    .unique()
    .where(sql.ref('public_seq'), 'is not', null)
    .execute();
  await sql`
    create function number_public_change() returns trigger language plpgsql as $$
    begin
      if (select visibility from events where id = new.event_id) = 'public' then
        new.public_seq := nextval('ticketing_changes_public_seq');
      else
        new.public_seq := null;
      end if;
      return new;
    end
    $$
  `.execute(db);
  await sql`
    create trigger ticketing_status_changes_public_seq
    before insert on ticketing_status_changes
    for each row execute function number_public_change()
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger ticketing_status_changes_public_seq on ticketing_status_changes`.execute(db);
  await sql`drop function number_public_change()`.execute(db);
  await db.schema.alterTable('ticketing_status_changes').dropColumn('public_seq').execute();
  await sql`drop sequence ticketing_changes_public_seq`.execute(db);
}
