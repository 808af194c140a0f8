/**
 * Reading upstream responses the same way in every provider: the body as JSON (or a
 * clear error when it is not), and the generic HTTP classification (429 waits, 5xx
 * retries, other 4xx fail) for providers with nothing more specific to say.
 */
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";

/** At most this much of an error body is read, so a huge error page cannot flood the log. */
const MAX_ERROR_TEXT = 500;

export async function responseJson(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Retryable(`${what} answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`);
  }
}

/** The error body's own message, wherever the provider puts it. */
export function messageOf(body: unknown): string | undefined {
  const b = body as Record<string, any> | null;
  const candidates = [b?.error?.message, b?.error_description, b?.error, b?.message];
  return candidates.find((c): c is string => typeof c === "string" && c.length > 0);
}

/**
 * Throws the right error for a non-2xx response the provider has no special reading of:
 * 429 is a rate limit (Retry-After honoured), 5xx and 408 are retried, anything else
 * fails for good with the upstream's words.
 */
export async function throwForStatus(res: Response, what: string): Promise<never> {
  const text = (await res.text()).slice(0, MAX_ERROR_TEXT);
  let message = text || res.statusText;
  try {
    message = messageOf(JSON.parse(text)) ?? message;
  } catch { /* not JSON: the text is the message */ }
  if (res.status === 429) {
    const wait = retryAfterSeconds(res.headers.get("retry-after"));
    throw new RateLimited(`${what} rate limit (429): ${message}; retrying in ${wait} s`, wait);
  }
  if (res.status >= 500 || res.status === 408) throw new Retryable(`${what} ${res.status}: ${message}`);
  throw new Permanent(`${what} ${res.status}: ${message}`);
}

/**
 * Work started before it is awaited (a page read ahead, a page written behind), so the
 * upstream and the database work side by side. Its failure is handled where it is
 * awaited; until then a rejection must not count as unhandled (which would end the
 * worker).
 */
export function startedAhead<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
