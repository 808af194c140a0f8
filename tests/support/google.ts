/**
 * Google service accounts for the Google providers' tests: a fresh RSA key pair made with
 * WebCrypto, the private half as the JSON key Google Cloud hands out, the public half
 * registered with the google-oauth fake, and the strings a leak check must look for.
 */
import { fake } from "./fakes.ts";

export interface ServiceAccount {
  email: string;
  /** The JSON key, as a user pastes it into credentials.service_account. */
  key: Record<string, string>;
  /** Parts of the key no row, broadcast or log line may contain (lines of the private key body, and all of it). */
  secrets: string[];
}

export async function serviceAccount(fakesBase?: string): Promise<ServiceAccount> {
  const pair = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const lines = btoa(String.fromCharCode(...pkcs8)).match(/.{1,64}/g)!;
  const id = crypto.randomUUID().replaceAll("-", "");
  const email = `sync-${id.slice(0, 12)}@tributary-test.iam.gserviceaccount.com`;
  await fake("google-oauth", email, fakesBase).seed({ public_key: await crypto.subtle.exportKey("jwk", pair.publicKey) });
  return {
    email,
    key: {
      type: "service_account",
      project_id: "tributary-test",
      private_key_id: id,
      private_key: `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----\n`,
      client_email: email,
      client_id: String(100_000_000_000_000_000n + BigInt(parseInt(id.slice(0, 12), 16))),
      token_uri: "https://oauth2.googleapis.com/token",
    },
    // Any leak of the PEM carries whole lines of it: a few of them (each check scans every table) and the body unbroken.
    secrets: [lines[0], lines[1], lines[Math.floor(lines.length / 2)], lines.at(-2)!, lines.join("")],
  };
}

/** Every secret of these accounts, with the access tokens the oauth fake issued them. */
export async function googleSecrets(accounts: ServiceAccount[]): Promise<string[]> {
  const secrets: string[] = [];
  for (const account of accounts) {
    const { issued } = await fake("google-oauth", account.email).truth<{ issued: string[] }>();
    secrets.push(...account.secrets, ...issued);
  }
  return secrets;
}
