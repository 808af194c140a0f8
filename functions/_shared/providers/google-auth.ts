/**
 * Google service-account auth: sign a JWT with the account's private key (RS256, jose)
 * and exchange it at the token URL for an access token (PROVIDERS.md, Service-account
 * auth). Tokens are kept in memory until a minute before they expire; they are never
 * stored or logged.
 */
import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import { RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { JobContext } from "../provider.ts";

/**
 * The service account's JSON key as Google Cloud downloads it. Only these fields are
 * kept: the rest (project_id, auth_uri, token_uri...) is dropped, and the token URL is
 * the deployment's GOOGLE_OAUTH_TOKEN_URL, never one from the user.
 */
export const serviceAccountKey = z.object({
  type: z.literal("service_account").optional(),
  client_email: z.string().email("the service account's email (client_email)"),
  private_key: z.string().includes("-----BEGIN PRIVATE KEY-----", { message: "a PEM PKCS#8 key (private_key of the JSON key)" }),
  private_key_id: z.string().optional(),
});

export type ServiceAccountKey = z.infer<typeof serviceAccountKey>;

/** The audience Google requires in the assertion, whichever URL the exchange is sent to. */
const AUDIENCE = "https://oauth2.googleapis.com/token";
const tokens = new Map<string, { token: string; expires: number }>();

/**
 * Forgets the cached token for this account and scope, when the API refused it (it
 * expired early, or was revoked): the next googleAccessToken mints a fresh one.
 */
export function forgetAccessToken(key: ServiceAccountKey, scope: string) {
  tokens.delete(`${key.client_email} ${scope}`);
}

export async function googleAccessToken(ctx: JobContext<unknown, unknown>, key: ServiceAccountKey, scope: string): Promise<string> {
  const cacheKey = `${key.client_email} ${scope}`;
  const cached = tokens.get(cacheKey);
  if (cached && cached.expires > Date.now() + 60_000) return cached.token;

  let signingKey: CryptoKey;
  try {
    signingKey = await importPKCS8(key.private_key, "RS256");
  } catch {
    throw await ctx.reconnect("The service account's private_key could not be read as an RSA key.");
  }
  const assertion = await new SignJWT({ scope })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) })
    .setIssuer(key.client_email)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(signingKey);

  const url = ctx.env("GOOGLE_OAUTH_TOKEN_URL") ?? AUDIENCE;
  const res = await ctx.fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
  });
  const body = await res.json().catch(() => ({})) as Record<string, any>;
  if (res.ok && typeof body.access_token === "string") {
    tokens.set(cacheKey, { token: body.access_token, expires: Date.now() + Number(body.expires_in ?? 3600) * 1000 });
    return body.access_token;
  }
  const why = [body.error, body.error_description].filter(Boolean).join(": ") || `HTTP ${res.status}`;
  if (res.status === 429) {
    const wait = retryAfterSeconds(res.headers.get("retry-after"));
    throw new RateLimited(`Google token endpoint rate limit: ${why}`, wait);
  }
  if (res.status >= 500) throw new Retryable(`Google token endpoint ${res.status}: ${why}`);
  throw await ctx.reconnect(`Google refused the service account (${why}): the key was deleted or disabled, or lacks access.`);
}

/**
 * Seconds from a Google API error's RetryInfo (`"retryDelay": "3s"` in `details`, or in a
 * Google Ads error's quotaErrorDetails), rounded up; null when it names none.
 */
export function googleRetryDelay(error: unknown): number | null {
  const found: number[] = [];
  const visit = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const m = k === "retryDelay" && typeof x === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(x.trim()) : null;
      if (m) found.push(Math.ceil(Number(m[1])));
      else visit(x, depth + 1);
    }
  };
  visit(error, 0);
  return found.length > 0 ? Math.max(...found) : null;
}
