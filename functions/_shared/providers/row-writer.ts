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
import { once } from "node:events";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type postgres from "postgres";

/** A value as COPY's text format takes it: objects go in as JSON (for jsonb columns). */
export type CopyValue = string | number | boolean | null | undefined | Record<string, unknown> | unknown[];

const UNIQUE_VIOLATION = "23505";
/** COPY data goes out in pieces of about this many characters, not as one string per page. */
const PIECE = 64 * 1024;
const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** One field in COPY's text format: `\N` for null; backslash, tab, newline and CR escaped. */
function field(v: CopyValue): string {
  // Numbers (most of a metrics row) never need escaping; a string only when it holds one
  // of the four characters. This runs for every value of every row, so it stays lean.
  if (typeof v === "number") return String(v);
  if (v === null || v === undefined) return "\\N";
  const text = typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPED[c]) : text;
}

function* pieces(prefix: string, rows: readonly CopyValue[][]): Generator<string> {
  let piece = "";
  for (const row of rows) {
    let line = prefix;
    for (let i = 0; i < row.length; i++) line += (i === 0 ? "" : "\t") + field(row[i]);
    piece += line + "\n";
    if (piece.length >= PIECE) {
      yield piece;
      piece = "";
    }
  }
  if (piece) yield piece;
}

/**
 * `COPY table (columns) FROM STDIN` of the rows, each given in `columns` order. `fixed`
 * holds the columns that are the same in every row (the connection, the owner): they are
 * encoded once and lead each line. Columns left out take their defaults (`synced_at` is
 * now(), the transaction's time).
 *
 * The COPY runs on a connection reserved for it: postgres.js otherwise pipelines other
 * queries onto a busy connection, and one sent behind a COPY's start arrives while the
 * server expects COPY data, which ends the connection.
 */
export async function copyRows(
  sql: postgres.Sql,
  table: string,
  columns: readonly string[],
  rows: readonly CopyValue[][],
  fixed: Record<string, CopyValue> = {},
) {
  const fixedColumns = Object.keys(fixed);
  const prefix = fixedColumns.map((c) => field(fixed[c]) + "\t").join("");
  const reserved = await sql.reserve();
  try {
    const query = reserved.unsafe(`copy ${table} (${[...fixedColumns, ...columns].join(", ")}) from stdin`);
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
    // Written straight into the stream (a Readable and a pipeline cost more than the
    // encoding on a cold worker); `done` listens for the stream's error from the start.
    const done = finished(into);
    done.catch(() => {});
    const send = async () => {
      for (const piece of pieces(prefix, rows)) {
        if (!into.write(piece)) await Promise.race([once(into, "drain"), done]);
      }
      into.end();
      await done;
    };
    await Promise.race([send(), refused]);
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
