/**
 * What a test needs to reach the running stack. `npm test` sets these for its throwaway
 * stack; run `deno test -A tests/` by hand and they default to the dev stack of `npm start`.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { ANON_KEY, SERVICE_ROLE_KEY, signUserToken } from "../../local-stack/keys.ts";

export const apiUrl = Deno.env.get("TRIBUTARY_API_URL") ?? "http://127.0.0.1:54321";
export const dbUrl = Deno.env.get("TRIBUTARY_DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
export const anonKey = Deno.env.get("TRIBUTARY_ANON_KEY") ?? ANON_KEY;
export const serviceRoleKey = Deno.env.get("TRIBUTARY_SERVICE_ROLE_KEY") ?? SERVICE_ROLE_KEY;

/** A superuser connection for arranging and inspecting state; close it with `await sql.end()`. */
export function db() {
  return postgres(dbUrl, { max: 4, onnotice: () => {} });
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
  client: SupabaseClient;
}

export type ClientOptions = { realtime?: { vsn?: "1.0.0" | "2.0.0" } };

/** A signed-in user: a row in auth.users and a token Supabase Auth would have issued. */
export async function createUser(
  sql: postgres.Sql,
  options: { appMetadata?: Record<string, unknown>; expiresIn?: number } & ClientOptions = {},
): Promise<TestUser> {
  const id = crypto.randomUUID();
  const email = `user-${id.slice(0, 8)}@example.test`;
  await sql`
    insert into auth.users (id, email, raw_app_meta_data)
    values (${id}, ${email}, ${sql.json({ provider: "email", providers: ["email"], ...options.appMetadata } as never)})
  `;
  const token = await signUserToken({ id, email, app_metadata: options.appMetadata }, options.expiresIn);
  return { id, email, token, client: userClient(token, options) };
}

/** The unmodified supabase-js client, acting with the given access token. */
export function userClient(token: string, options: ClientOptions = {}): SupabaseClient {
  return createClient(apiUrl, anonKey, {
    accessToken: () => Promise.resolve(token),
    realtime: { ...options.realtime, params: { apikey: anonKey } },
  });
}

export function serviceClient(): SupabaseClient {
  return createClient(apiUrl, serviceRoleKey, { auth: { persistSession: false, autoRefreshToken: false } });
}

/** Polls until `probe` returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until the clock is clear of pg_cron's minute tick (second 0), whose dispatch
 * could wake a worker that takes a job a test means one request to claim. Such a
 * request takes well under a second.
 */
export async function clearOfTheTick() {
  while (true) {
    const second = new Date().getUTCSeconds();
    if (second >= 2 && second <= 50) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const functionLogFile = () => Deno.env.get("TRIBUTARY_FUNCTION_LOG")!;

/** Where the function log ends now, for `functionLogSince`. */
export async function functionLogMark(): Promise<number> {
  return (await Deno.stat(functionLogFile())).size;
}

/**
 * The JSON lines one function logged since `mark` (`<time> [<function>] {...}`), parsed:
 * the worker's own lines and the runtime's events about it (Retire, Shutdown).
 */
// deno-lint-ignore no-explicit-any
export async function functionLogSince(mark: number, fn: string): Promise<Record<string, any>[]> {
  const text = new TextDecoder().decode((await Deno.readFile(functionLogFile())).subarray(mark));
  const prefix = ` [${fn}] {`;
  return text.split("\n").flatMap((line) => {
    const at = line.indexOf(prefix);
    if (at < 0) return [];
    try {
      return [JSON.parse(line.slice(at + prefix.length - 1))];
    } catch {
      return []; // a printed object that is not JSON (an error's fields)
    }
  });
}
