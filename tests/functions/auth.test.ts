/** Token verification in functions: with SUPABASE_JWKS set, asymmetric keys are used (and only they). */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

Deno.test("with SUPABASE_JWKS, an RS256 token from the project's key is accepted and another key's refused", async () => {
  const project = await generateKeyPair("RS256");
  const stranger = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(project.publicKey)), kid: "project-key", alg: "RS256", use: "sig" };
  Deno.env.set("SUPABASE_JWKS", JSON.stringify({ keys: [jwk] }));
  const { caller, Unauthorized } = await import("../../functions/_shared/auth.ts");
  const sign = (key: CryptoKey, claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "project-key" }).setExpirationTime("5m").sign(key);
  const request = (token: string) => new Request("http://x/", { headers: { authorization: `Bearer ${token}` } });

  const userId = crypto.randomUUID();
  const who = await caller(request(await sign(project.privateKey, { sub: userId, role: "authenticated", app_metadata: { role: "admin" } })));
  assert.equal(who.userId, userId);
  assert.equal(who.isAdmin, true);

  const forged = await sign(stranger.privateKey, { sub: userId, role: "authenticated" });
  await assert.rejects(() => caller(request(forged)), Unauthorized);
  await assert.rejects(() => caller(new Request("http://x/")), Unauthorized);
  Deno.env.delete("SUPABASE_JWKS");
});
