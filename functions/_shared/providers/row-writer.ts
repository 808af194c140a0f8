/**
 * Writing synced rows: COPY while they are new, upsert from the first row already stored.
 *
 * COPY is Postgres's fastest way in. It takes rows in batches (one WAL record for many
 * tuples, which Realtime's logical decoding also reads faster) with no per-row
 * executor. It is the ceiling `bench/providers` compares us with. But it cannot
 * update: one row already stored makes it fail with unique_violation and roll back
 * whole. So a run copies while its rows are new (a first sync, a backfill, new dates).
 * From the first conflict on, it upserts: the page that conflicted and every page after
 * it in the run. A re-sync pays for one wasted COPY, not one per page.
 *
 * Either way a page is written whole or not at all, onto the table's natural key, so a
 * page written twice (read again after a crash) is still one set of rows.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type postgres from "postgres";

/** A value as COPY's text format takes it: objects go in as JSON (for jsonb columns). */
export type CopyValue = string | number | boolean | null | undefined | Record<string, unknown> | unknown[];

const UNIQUE_VIOLATION = "23505";
/** COPY data goes out in pieces of about this many characters, not as one string per page. */
const PIECE = 64 * 1024;

/** One field in COPY's text format: `\N` for null; backslash, tab, newline and CR escaped. */
function field(v: CopyValue): string {
  if (v === null || v === undefined) return "\\N";
  const text = typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"))
    : text;
}

function* pieces(rows: readonly CopyValue[][]): Generator<string> {
  let piece = "";
  for (const row of rows) {
    piece += row.map(field).join("\t") + "\n";
    if (piece.length >= PIECE) {
      yield piece;
      piece = "";
    }
  }
  if (piece) yield piece;
}

/**
 * `COPY table (columns) FROM STDIN` of the rows, each given in `columns` order. Columns
 * left out take their defaults (`synced_at` is now(), the transaction's time).
 */
export async function copyRows(sql: postgres.Sql | postgres.TransactionSql, table: string, columns: readonly string[], rows: readonly CopyValue[][]) {
  const query = sql.unsafe(`copy ${table} (${columns.join(", ")}) from stdin`);
  const into = await query.writable();
  // postgres.js (3.4) resolves the query with the stream, and when the server refuses
  // the data after the last piece (a unique violation, a value that does not parse) it
  // hands the error only to the query's `reject`, which is then a no-op: the stream's
  // end would wait forever. So the error is taken from there.
  const refused = new Promise<never>((_, reject) => ((query as unknown as { reject: (e: unknown) => void }).reject = reject));
  await Promise.race([pipeline(Readable.from(pieces(rows)), into), refused]);
}

/** The rows as objects keyed by column, for `jsonb_to_recordset` in an upsert. */
export function recordsOf(columns: readonly string[], rows: readonly CopyValue[][]): Record<string, CopyValue>[] {
  return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
}

/** One run's writes to one table: COPY until the first conflict, upserts after it. */
export class RowWriter {
  #copying = true;

  /**
   * Writes one page: `copy` while the run's rows have all been new, else (and for the
   * page whose COPY met a stored row) `upsert`. Both must write the same rows.
   */
  async write<T>(copy: () => Promise<T>, upsert: () => Promise<T>): Promise<T> {
    if (this.#copying) {
      try {
        return await copy();
      } catch (e) {
        if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
        this.#copying = false;
      }
    }
    return await upsert();
  }
}
