/**
 * The local JWT secret and the well-known demo keys that `supabase start` prints.
 * They are public on purpose: they only ever guard a stack bound to 127.0.0.1.
 */
import { jwtVerify, SignJWT } from "jose";

export const JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

export const ANON_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";

export const SERVICE_ROLE_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU";

const secretKey = new TextEncoder().encode(JWT_SECRET);

export type Claims = Record<string, unknown> & { role?: string; sub?: string; exp?: number };

/** Verifies an HS256 token against the local secret; throws on a bad signature or an expired token. */
export async function verifyJwt(token: string): Promise<Claims> {
  const { payload } = await jwtVerify(token, secretKey, { algorithms: ["HS256"] });
  return payload as Claims;
}

/** Signs a user access token shaped like Supabase Auth's. */
export function signUserToken(
  user: { id: string; email?: string; app_metadata?: Record<string, unknown> },
  expiresInSeconds = 3600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    email: user.email,
    role: "authenticated",
    aud: "authenticated",
    app_metadata: { provider: "email", providers: ["email"], ...user.app_metadata },
    user_metadata: {},
    session_id: crypto.randomUUID(),
    is_anonymous: false,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user.id)
    .setIssuer("http://127.0.0.1/auth/v1")
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(secretKey);
}
