import { type Kysely, sql } from 'kysely';
import type { ApiDatabase, WebhookReceiptsTable } from '../database/schema.ts';

/** Receipts are kept at least this long: longer than any sender keeps retrying one delivery. */
export const WEBHOOK_RECEIPT_RETENTION_MS = 4 * 24 * 60 * 60 * 1000;

export type WebhookReceipt = WebhookReceiptsTable;

/** Whether a webhook id was already received (never, for no id): an SQL expression to select along with other rows. */
export function wasReceived(id: string | undefined) {
  return id === undefined
    ? sql<boolean>`false`
    : sql<boolean>`exists (select 1 from webhook_receipts where webhook_receipts.id = ${id})`;
}

/** Deletes the receipts received before a moment (at least `WEBHOOK_RECEIPT_RETENTION_MS` ago); answers how many. */
export async function deleteOldReceipts(db: Kysely<ApiDatabase>, before: Date): Promise<number> {
  const result = await db.deleteFrom('webhook_receipts').where('received_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
