import { type AliasableExpression, sql } from 'kysely';

/**
 * Helpers for `INSERT … SELECT` of one known row: the row is inserted once for each row the SELECT
 * finds, so a statement can write it only when another part of it (a permission check, an update that
 * found its row) succeeded, without a transaction or a second round trip.
 */

/** The columns of an `INSERT … SELECT` of `row`, in the order of `selectionOf(row)`. */
export function columnsOf<Row extends object>(row: Row): (keyof Row & string)[] {
  return Object.keys(row) as (keyof Row & string)[];
}

/** `row` as the select list of an `INSERT … SELECT`: a parameter per column, except the `computed` ones. */
export function selectionOf<Row extends object>(
  row: Row,
  computed: { [Column in keyof Row]?: AliasableExpression<unknown> } = {},
) {
  return columnsOf(row).map((column) => (computed[column] ?? sql`${row[column]}`).as(column));
}
