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
import { Readable, type Writable } from "node:stream";
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
 *
 * The COPY runs on a connection reserved for it: postgres.js otherwise pipelines other
 * queries onto a busy connection, and one sent behind a COPY's start arrives while the
 * server expects COPY data, which ends the connection.
 */
export async function copyRows(sql: postgres.Sql, table: string, columns: readonly string[], rows: readonly CopyValue[][]) {
  const reserved = await sql.reserve();
  try {
    const query = reserved.unsafe(`copy ${table} (${columns.join(", ")}) from stdin`);
    const into = await query.writable() as Writable & { _destroy: Writable["_destroy"] };
    // Two mends to postgres.js 3.4's COPY stream:
    // - Its stream destroys itself once finished, and its destroy always sends CopyFail.
    //   By then the connection may be back in the pool and running the next COPY,
    //   which that stray CopyFail kills ("COPY from stdin failed: null"). Only a real
    //   error may send it.
    // - When the server refuses the data after the last piece (a unique violation, a
    //   value that does not parse), the error goes only to the query's `reject`, a
    //   no-op once the query has resolved with the stream, and the stream's end waits
    //   for ever. So the error is taken from there.
    const destroy = into._destroy;
    into._destroy = (error, callback) => (error ? destroy.call(into, error, callback) : callback(null));
    const refused = new Promise<never>((_, reject) => ((query as unknown as { reject: (e: unknown) => void }).reject = reject));
    await Promise.race([pipeline(Readable.from(pieces(rows)), into), refused]);
  } finally {
    reserved.release();
  }
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
