/**
 * The generic http-json provider (SPEC section 6): GET a JSON API, upsert each record
 * under `records_path` into synced.records keyed by `id_field`, and follow the URL at
 * `next_path` until it is null. The next URL is the cursor, checkpointed after each page.
 */
import { z } from "zod";
import { Permanent } from "../errors.ts";
import type { Provider } from "../provider.ts";
import { assertPublicUrl } from "../url-guard.ts";
import { throwForStatus } from "./upstream.ts";

const dottedPath = z.string().min(1).max(200).regex(/^[^.]+(\.[^.]+)*$/, "a dotted path like result.items");

export const account = z.object({
  url: z.string().url(),
  records_path: dottedPath.default("data"),
  id_field: dottedPath.default("id"),
  next_path: dottedPath.default("next"),
  // Optional: where the response says how many records there are in all, for a real percent.
  total_path: dottedPath.optional(),
}).strict();

export const credentials = z.object({
  headers: z.record(z.string(), z.string()).optional(),
}).strict();

type Cursor = { next: string; page: number; records: number } | null;

function at(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (v, key) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined),
    value,
  );
}

export const httpJson: Provider<z.infer<typeof account>, z.infer<typeof credentials>> = {
  name: "http-json",
  kinds: ["incremental", "full"],
  account,
  credentials,
  async *run(ctx) {
    const { account: acct } = ctx.connection;
    const allowPrivate = ctx.env("HTTP_JSON_ALLOW_PRIVATE") === "true";
    const start = ctx.cursor as Cursor;
    let next: string | null = start?.next ?? acct.url;
    let page = start?.page ?? 0;
    let records = start?.records ?? 0;

    while (next) {
      const url = await assertPublicUrl(next, allowPrivate);
      const res = await ctx.fetch(url, { headers: { accept: "application/json", ...ctx.credentials.headers } });
      if (!res.ok) await throwForStatus(res, "upstream");

      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new Permanent(`${url.host} did not answer with JSON`);
      }
      const items = at(body, acct.records_path);
      if (!Array.isArray(items)) throw new Permanent(`no array at "${acct.records_path}" in the response of ${url.host}`);

      const rows = items.map((item, i) => {
        const id = at(item, acct.id_field);
        if (typeof id !== "string" && typeof id !== "number") {
          throw new Permanent(`record ${i} on page ${page + 1} has no string or number at "${acct.id_field}"`);
        }
        return { external_id: String(id), data: item };
      });
      if (rows.length > 0 && !ctx.job.dry_run) {
        await ctx.sql`
          insert into synced.records (connection_id, owner_id, external_id, data)
          select ${ctx.connection.id}, ${ctx.connection.owner_id}, r.external_id, r.data
          from jsonb_to_recordset(${ctx.sql.json(rows as never)}) as r (external_id text, data jsonb)
          on conflict (connection_id, external_id) do update set data = excluded.data, synced_at = now()
        `;
      }

      const total = acct.total_path ? at(body, acct.total_path) : undefined;
      const after = at(body, acct.next_path);
      next = typeof after === "string" && after !== "" ? new URL(after, url).href : null;
      page++;
      records += rows.length;
      ctx.log("page synced", { page, records: rows.length });
      yield {
        cursor: next ? { next, page, records } : null,
        progress: {
          phase: next ? "downloading" : "done",
          ...(typeof total === "number" && total > 0 ? { done: records, total } : { done: page }),
          message: `${records} records from ${page} page${page === 1 ? "" : "s"}`,
        },
        stats: { records, pages: page },
        done: !next,
      };
    }
  },
};
