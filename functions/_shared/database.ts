/**
 * The functions' connection to Postgres, typed by the generated database.types.ts
 * (`npm run types` regenerates it with the Supabase CLI).
 *
 * SUPABASE_DB_URL is a direct connection locally and Supavisor's transaction pooler on
 * hosted projects, which cannot keep prepared statements between transactions: hence
 * `prepare: false`.
 */
import net from "node:net";
import postgres from "postgres";
import type { Database } from "./database.types.ts";

export type { Database };

type Schema = Exclude<keyof Database, "__InternalSupabase">;
/** The row type of a table: `Row<"sync", "settings">`. */
export type Row<S extends Schema, T extends keyof Database[S]["Tables"]> = Database[S]["Tables"][T] extends
  { Row: infer R } ? R : never;

let sql: postgres.Sql | undefined;

/**
 * A TCP connection with Nagle's algorithm off, as libpq opens its own. postgres.js
 * leaves it on, and a COPY is several writes in a row: each one after the first then
 * waits for the server's delayed ACK, 40 ms a page on Linux.
 */
function connectNoDelay(options: { host: string[]; port: number[]; connect_timeout?: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host[0], port: options.port[0], noDelay: true });
    // postgres.js times the connection only once the socket is handed over.
    const timer = setTimeout(() => socket.destroy(new Error("could not connect to Postgres in time")), (options.connect_timeout ?? 30) * 1000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export function db(): postgres.Sql {
  const url = Deno.env.get("SUPABASE_DB_URL");
  if (!url) throw new Error("SUPABASE_DB_URL is not set: this code runs inside a Supabase Edge Function");
  if (!sql) {
    // Six: a sync keeps two COPYs (each on a reserved connection), a checkpoint, and
    // each of two read chains' rate-limit tokens going at once.
    // `socket` is a documented postgres.js option its type declarations leave out.
    const options = { max: 6, prepare: false, idle_timeout: 20, onnotice: () => {}, socket: connectNoDelay };
    sql = postgres(url, options as postgres.Options<Record<string, never>>);
  }
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
