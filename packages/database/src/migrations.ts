import { type Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';

/**
 * One service's migrations and the table that records which of them ran. Services may share a
 * database, and migration names such as `0001-initial` recur between them, so each set keeps its
 * history in a table of its own.
 */
export interface MigrationSet {
  /** The table recording which of `migrations` ran; its lock table is `<table>_lock`. */
  readonly table: string;
  /** Every migration of the set; names sort in the order they run. */
  readonly migrations: Readonly<Record<string, Migration>>;
  /**
   * A table that this set creates and no other set does. Versions before `table` existed recorded
   * the history in Kysely's default table, `kysely_migration`; where this table stands beside that
   * one, that history is this set's, and is adopted rather than run again.
   */
  readonly legacyMarker?: string;
}

/** Where Kysely records migrations unless told otherwise, as every version before `MigrationSet.table` did. */
export const LEGACY_MIGRATION_TABLE = 'kysely_migration';

/** Serialises adoptions, so that instances starting together copy a history once. */
const ADOPTION_LOCK_KEY = 7_401_101;

/**
 * Brings the schema to the latest migration of a set, after adopting the set's history from
 * `kysely_migration` where an earlier version left it there. Several instances may call this at once.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before any schema exists
export async function migrateToLatest(db: Kysely<any>, set: MigrationSet): Promise<void> {
  if (set.legacyMarker) await adoptLegacyHistory(db, set, set.legacyMarker);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...set.migrations }) },
    migrationTableName: set.table,
    migrationLockTableName: `${set.table}_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    const cause = error instanceof Error ? error : new Error(String(error ?? 'unknown error'));
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${cause.message}`, { cause });
  }
}

/**
 * Copies the rows of this set's migrations from `kysely_migration` into the set's own table, when
 * that table does not exist yet and the set's marker table does. The old table is left as it was,
 * so that an instance of the earlier version still running, or rolled back to, finds its history.
 */
// biome-ignore lint/suspicious/noExplicitAny: the history tables are not in any app's schema type
async function adoptLegacyHistory(db: Kysely<any>, set: MigrationSet, marker: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${ADOPTION_LOCK_KEY})`.execute(trx);
    const exists = (table: string) => sql<boolean>`to_regclass(quote_ident(${table})) is not null`;
    const { rows } = await sql<{ legacy: boolean; marker: boolean; own: boolean }>`select
      ${exists(LEGACY_MIGRATION_TABLE)} as legacy, ${exists(marker)} as marker, ${exists(set.table)} as own`.execute(
      trx,
    );
    const found = rows[0];
    if (!found?.legacy || !found.marker || found.own) return;
    // The shape Kysely's Migrator gives its table, so that it takes this one as its own.
    await trx.schema
      .createTable(set.table)
      .addColumn('name', 'varchar(255)', (column) => column.notNull().primaryKey())
      .addColumn('timestamp', 'varchar(255)', (column) => column.notNull())
      .execute();
    const names = Object.keys(set.migrations);
    if (names.length === 0) return;
    await trx
      .insertInto(set.table)
      .columns(['name', 'timestamp'])
      .expression(
        trx.selectFrom(LEGACY_MIGRATION_TABLE).select(['name', 'timestamp']).where('name', 'in', names),
      )
      .execute();
  });
}
