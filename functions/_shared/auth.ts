/**
 * Who is calling: verifies the caller's JWT with jose, against SUPABASE_JWKS where the
 * project publishes asymmetric keys, else HS256 with the project's JWT_SECRET.
 */
import { createLocalJWKSet, type JWTPayload, jwtVerify } from "jose";
import { HttpError } from "./http.ts";

export interface Caller {
  userId: string | null;
  role: string;
  isAdmin: boolean;
  claims: JWTPayload & { role?: string; app_metadata?: { role?: string } };
}

export class Unauthorized extends HttpError {
  constructor(message: string) {
    super(401, "unauthorized", message);
  }
}

let verifier: ((token: string) => Promise<JWTPayload>) | undefined;

function makeVerifier() {
  const jwks = Deno.env.get("SUPABASE_JWKS");
  if (jwks) {
    const keys = createLocalJWKSet(JSON.parse(jwks));
    return async (token: string) => (await jwtVerify(token, keys)).payload;
  }
  const secret = Deno.env.get("JWT_SECRET");
  if (!secret) throw new Error("set the JWT_SECRET function secret (or SUPABASE_JWKS) to verify callers");
  const key = new TextEncoder().encode(secret);
  return async (token: string) => (await jwtVerify(token, key, { algorithms: ["HS256"] })).payload;
}

export async function caller(req: Request): Promise<Caller> {
  const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) throw new Unauthorized("Send the user's access token as `Authorization: Bearer <token>`.");
  verifier ??= makeVerifier();
  let claims: Caller["claims"];
  try {
    claims = await verifier(token);
  } catch {
    throw new Unauthorized("The access token is invalid or expired; sign in again.");
  }
  const role = String(claims.role ?? "anon");
  return {
    userId: role === "authenticated" && typeof claims.sub === "string" ? claims.sub : null,
    role,
    isAdmin: role === "service_role" || claims.app_metadata?.role === "admin",
    claims,
  };
}
