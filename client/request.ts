/**
 * One call to a Tributary Edge Function through the caller's own SupabaseClient, so the
 * client uses whatever session, key and fetch the app already configured.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { SyncError } from "./errors.ts";

export type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** `functions.invoke` with the contract's errors turned into SyncError. */
export async function call<T>(
  supabase: SupabaseClient,
  fn: string,
  path: string,
  method: Method = "GET",
  body?: unknown,
): Promise<T> {
  const { data, error } = await supabase.functions.invoke(`${fn}/${path}`, {
    method,
    ...(body === undefined ? {} : { body: body as Record<string, unknown> }),
  });
  if (!error) return data as T;
  const response = (error as { context?: unknown }).context;
  if (!(response instanceof Response)) {
    // FunctionsFetchError / FunctionsRelayError: nothing answered.
    throw new SyncError(
      0,
      "unreachable",
      `Could not reach ${fn}: ${error.message}. Is the Supabase URL right, and is the stack running?`,
    );
  }
  const text = await response.text().catch(() => "");
  let code = "http_" + response.status;
  let message = text.slice(0, 500) || response.statusText;
  try {
    const parsed = JSON.parse(text);
    if (parsed?.error?.message) ({ code, message } = parsed.error);
    else if (typeof parsed?.message === "string") message = parsed.message;
    else if (typeof parsed?.msg === "string") message = parsed.msg;
  } catch {
    // Not JSON (a proxy's page, say): keep the text.
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  throw new SyncError(
    response.status,
    code,
    message,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  );
}

/** `?a=1&b=2` from the defined entries of `query`, or "" when none are. */
export function queryString(query: Record<string, string | number | undefined>): string {
  const entries = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]);
  return entries.length ? `?${new URLSearchParams(entries)}` : "";
}
