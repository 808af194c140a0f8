/**
 * Fake Google OAuth token endpoint for service accounts (PROVIDERS.md, Service-account
 * auth). A tenant is a service account's client_email, seeded with its public key (JWK
 * or SPKI PEM): the test keeps the private key, as Google never sees one either.
 *
 *   POST /token  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>
 *
 * The assertion's RS256 signature is verified against the registered key, and its
 * claims checked as Google does (iss known, aud the token URL, a scope, exp at most an
 * hour after iat and not past). It answers {access_token, expires_in, token_type}. A
 * revoked (deleted or disabled) key gets 400 invalid_grant "Invalid JWT Signature.".
 *
 * The tokens it issues live in a registry the Google API fakes share (`bearer`): they
 * accept only tokens issued here, for their scope, to a service account not revoked.
 */
import { type FakeUpstream, hang, requestLog, sleep, Tenants } from "./fake.ts";

const AUDIENCE = "https://oauth2.googleapis.com/token";
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** Google's answer when the token outlives an hour or its times are off. */
const BAD_TIMES = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. " +
  "Check your iat and exp values in the JWT claim.";

interface Account {
  publicKey: JsonWebKey | string;
  key?: CryptoKey;
  expiresIn: number;
  issued: string[];
}

interface Issued {
  email: string;
  scopes: string[];
  expires: number;
}

const b64url = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const decodeJson = (s: string) => JSON.parse(new TextDecoder().decode(b64url(s)));

function pemBody(pem: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

async function importPublicKey(key: JsonWebKey | string): Promise<CryptoKey> {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return typeof key === "string"
    ? await crypto.subtle.importKey("spki", pemBody(key), algorithm, false, ["verify"])
    : await crypto.subtle.importKey("jwk", { ...key, alg: "RS256", key_ops: ["verify"] }, algorithm, false, ["verify"]);
}

const oauthError = (error: string, description: string, status = 400) =>
  Response.json({ error, error_description: description }, { status });

export class GoogleOAuthFake implements FakeUpstream {
  readonly name = "google-oauth";
  #tenants = new Tenants<Account>("google-oauth");
  #tokens = new Map<string, Issued>();

  tenant(email: string) {
    return this.#tenants.find(email);
  }

  /** `{public_key: JWK | SPKI PEM, expires_in?: seconds (default 3599)}` for a client_email. */
  seed(email: string, spec: Record<string, any>) {
    if (!spec.public_key) throw new Error("seed google-oauth with {public_key: JWK or SPKI PEM}");
    this.#tenants.set(email, { publicKey: spec.public_key, expiresIn: spec.expires_in ?? 3599, issued: [] });
    return {};
  }

  /** `{revoked: true}`: the key was deleted (every token it got stops working too); `{revoked: false}` undoes it. */
  update(email: string, change: Record<string, any>) {
    const tenant = this.#tenants.get(email);
    if (typeof change.revoked === "boolean") tenant.revoked = change.revoked;
    return { revoked: tenant.revoked };
  }

  /** The access tokens issued to the account: what a leak check must look for. */
  truth(email: string) {
    const tenant = this.#tenants.get(email);
    return { issued: tenant.data.issued, revoked: tenant.revoked };
  }

  /**
   * The service account a request's bearer token was issued to, if it was issued here,
   * has not expired, carries `scope`, and its account is not revoked; else why not.
   */
  bearer(req: Request, scopes: string[]): { email: string } | { error: "unauthenticated" | "insufficient_scope" } {
    const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    const issued = token ? this.#tokens.get(token) : undefined;
    if (!issued || issued.expires < Date.now() || this.#tenants.find(issued.email)?.revoked) return { error: "unauthenticated" };
    if (!issued.scopes.some((s) => scopes.includes(s))) return { error: "insufficient_scope" };
    return { email: issued.email };
  }

  /** Makes an issued token stale, as if its hour had passed (the `expired-token` fault of the API fakes). */
  expire(req: Request) {
    const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    const issued = token ? this.#tokens.get(token) : undefined;
    if (issued) issued.expires = 0;
  }

  async handle(req: Request, path: string): Promise<Response> {
    if (req.method !== "POST" || path !== "/token") return Response.json({ error: "not_found" }, { status: 404 });
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") !== GRANT_TYPE) {
      return oauthError("unsupported_grant_type", `Invalid grant_type: ${form.get("grant_type") ?? ""}`);
    }
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3) return oauthError("invalid_request", "Invalid JWT: the assertion is not a JWT.");
    let header: Record<string, any>, claims: Record<string, any>;
    try {
      header = decodeJson(parts[0]);
      claims = decodeJson(parts[1]);
    } catch {
      return oauthError("invalid_request", "Invalid JWT: the assertion is not a JWT.");
    }
    const tenant = this.#tenants.find(claims.iss);
    if (!tenant) return oauthError("invalid_grant", "Invalid grant: account not found");
    // Logged without the assertion: the request log is test-visible and need not carry it.
    tenant.requests.push({ ...requestLog(req, path), body: { grant_type: form.get("grant_type"), iss: claims.iss, scope: claims.scope } });
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      return Response.json({ error: "rate_limit_exceeded", error_description: "Rate limit exceeded." }, {
        status: 429,
        headers: { "retry-after": String(fault.retry_after_s ?? 1) },
      });
    }
    if (fault?.kind === "server-error") return oauthError("internal_failure", "Backend Error", fault.status ?? 503);
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (tenant.revoked) return oauthError("invalid_grant", "Invalid JWT Signature.");

    tenant.data.key ??= await importPublicKey(tenant.data.publicKey);
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    let valid = false;
    try {
      valid = header.alg === "RS256" &&
        await crypto.subtle.verify("RSASSA-PKCS1-v1_5", tenant.data.key, b64url(parts[2]), signed);
    } catch { /* a malformed signature is an invalid one */ }
    if (!valid) return oauthError("invalid_grant", "Invalid JWT Signature.");
    if (claims.aud !== AUDIENCE) return oauthError("invalid_grant", `Invalid JWT: aud must be ${AUDIENCE}`);
    if (typeof claims.scope !== "string" || !claims.scope.trim()) {
      return oauthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number" || exp > iat + 3600 || exp <= now || iat > now + 300) {
      return oauthError("invalid_grant", BAD_TIMES);
    }

    const accessToken = `ya29.fake-${crypto.randomUUID().replaceAll("-", "")}`;
    this.#tokens.set(accessToken, {
      email: claims.iss,
      scopes: claims.scope.split(/\s+/),
      expires: Date.now() + tenant.data.expiresIn * 1000,
    });
    tenant.data.issued.push(accessToken);
    return Response.json({ access_token: accessToken, expires_in: tenant.data.expiresIn, token_type: "Bearer" });
  }
}
