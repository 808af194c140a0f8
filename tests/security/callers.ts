/**
 * Everyone who might knock, for the security matrix and the fuzz pass: how each one calls
 * a function over HTTP and how each one opens a Realtime socket and joins.
 */
import { SignJWT } from "jose";
import type postgres from "postgres";
import { signUserToken } from "../../local-stack/keys.ts";
import { anonKey, apiUrl, createUser, serviceRoleKey, type TestUser } from "../support/stack.ts";

export const CALLERS = ["no key", "anon", "user", "other user", "admin", "service role", "worker secret", "forged token", "expired token"] as const;
export type CallerName = typeof CALLERS[number];

export interface Caller {
  name: CallerName;
  /** The headers supabase-js (or pg_net, for the worker secret) would send. */
  headers: Record<string, string>;
  /** The Realtime socket's apikey and the join's access_token. */
  realtime: { apikey: string; token?: string };
}

export interface Cast {
  callers: Record<CallerName, Caller>;
  user: TestUser;
  other: TestUser;
  admin: TestUser;
  workerSecret: string;
}

const bearer = (token: string, apikey = anonKey) => ({ apikey, authorization: `Bearer ${token}` });

export async function cast(sql: postgres.Sql): Promise<Cast> {
  const user = await createUser(sql);
  const other = await createUser(sql);
  const admin = await createUser(sql, { appMetadata: { role: "admin" } });
  const [{ secret: workerSecret }] = await sql`
    select decrypted_secret as secret from vault.decrypted_secrets where name = 'tributary_worker_secret'
  `;
  // Claims an attacker would love (an admin, as the user), signed with a key that is not the project's.
  const forged = await new SignJWT({ role: "authenticated", aud: "authenticated", app_metadata: { role: "admin" } })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user.id)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode("not-the-project-secret-but-just-as-long-as-it"));
  const expired = await signUserToken({ id: user.id, email: user.email }, -120);
  const callers: Record<CallerName, Caller> = {
    "no key": { name: "no key", headers: {}, realtime: { apikey: "" } },
    "anon": { name: "anon", headers: bearer(anonKey), realtime: { apikey: anonKey } },
    "user": { name: "user", headers: bearer(user.token), realtime: { apikey: anonKey, token: user.token } },
    "other user": { name: "other user", headers: bearer(other.token), realtime: { apikey: anonKey, token: other.token } },
    "admin": { name: "admin", headers: bearer(admin.token), realtime: { apikey: anonKey, token: admin.token } },
    "service role": { name: "service role", headers: bearer(serviceRoleKey, serviceRoleKey), realtime: { apikey: serviceRoleKey } },
    // sync.dispatch sends only this header.
    "worker secret": { name: "worker secret", headers: { authorization: `Bearer ${workerSecret}` }, realtime: { apikey: workerSecret } },
    "forged token": { name: "forged token", headers: bearer(forged), realtime: { apikey: anonKey, token: forged } },
    "expired token": { name: "expired token", headers: bearer(expired), realtime: { apikey: anonKey, token: expired } },
  };
  return { callers, user, other, admin, workerSecret };
}

export interface Answer {
  status: number;
  text: string;
  json: unknown;
}

/** One HTTP call to a function, as `caller`. */
export async function call(caller: Caller, method: string, path: string, body?: string, extra: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${apiUrl}/functions/v1/${path}`, {
    method,
    headers: { ...caller.headers, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...extra },
    body,
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch { /* not JSON: the caller's assertions say whether that is allowed */ }
  return { status: res.status, text, json };
}

/** A refusal as SPEC section 4 words it, `{error: {code, message}}`, or the gateway's `{msg}` for a bad JWT. */
export function isJsonRefusal(a: Answer): boolean {
  const e = (a.json as { error?: { code?: unknown; message?: unknown }; msg?: unknown } | null);
  if (!e) return false;
  if (a.status === 401 && typeof e.msg === "string") return true;
  return typeof e.error?.code === "string" && typeof e.error?.message === "string" && e.error.message.length > 0;
}
