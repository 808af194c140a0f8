/** Token checks with Realtime's own error codes and wording. */
import { errors, decodeJwt } from "jose";
import { type Claims, verifyJwt } from "../keys.ts";

export type TokenCheck =
  | { ok: true; claims: Claims }
  | { ok: false; code: string; message: string };

export async function checkToken(token: string | undefined | null): Promise<TokenCheck> {
  if (!token) return { ok: false, code: "InvalidJWTToken", message: "API key is missing" };
  try {
    const claims = await verifyJwt(token);
    if (typeof claims.role !== "string" || typeof claims.exp !== "number") {
      return { ok: false, code: "InvalidJWTToken", message: "Fields `role` and `exp` are required in JWT" };
    }
    return { ok: true, claims };
  } catch (e) {
    if (e instanceof errors.JWTExpired) {
      const exp = Number(decodeJwt(token).exp ?? 0);
      const ago = Math.max(0, Math.floor(Date.now() / 1000) - exp);
      return { ok: false, code: "InvalidJWTToken", message: `Token has expired ${ago} seconds ago` };
    }
    if (e instanceof errors.JWSSignatureVerificationFailed) {
      return { ok: false, code: "JwtSignatureError", message: "Failed to validate JWT signature" };
    }
    return { ok: false, code: "MalformedJWT", message: "The token provided is not a valid JWT" };
  }
}
