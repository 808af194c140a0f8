/**
 * The functions' connection to Postgres, typed by the generated database.types.ts
 * (`npm run types` regenerates it with the Supabase CLI).
 *
 * SUPABASE_DB_URL is a direct connection locally and Supavisor's transaction pooler on
 * hosted projects, which cannot keep prepared statements between transactions: hence
 * `prepare: false`.
 */
import postgres from "postgres";
import type { Database } from "./database.types.ts";

export type { Database };

type Schema = Exclude<keyof Database, "__InternalSupabase">;
/** The row type of a table: `Row<"sync", "settings">`. */
export type Row<S extends Schema, T extends keyof Database[S]["Tables"]> = Database[S]["Tables"][T] extends
  { Row: infer R } ? R : never;

let sql: postgres.Sql | undefined;

export function db(): postgres.Sql {
  const url = Deno.env.get("SUPABASE_DB_URL");
  if (!url) throw new Error("SUPABASE_DB_URL is not set: this code runs inside a Supabase Edge Function");
  sql ??= postgres(url, { max: 4, prepare: false, idle_timeout: 20, onnotice: () => {} });
  return sql;
}

/**
 * Runs `fn` in a transaction as the calling user, the way PostgREST does: role
 * `authenticated` and the JWT claims set for the transaction, so RLS decides what the
 * queries see. Nothing done here can bypass a policy.
 */
export function asUser<T>(claims: Record<string, unknown>, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return db().begin(async (tx) => {
    await tx`
      select set_config('role', 'authenticated', true),
             set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
             set_config('request.jwt.claim.sub', ${String(claims.sub ?? "")}, true)
    `;
    return await fn(tx);
  }) as Promise<T>;
}
