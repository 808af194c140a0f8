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
