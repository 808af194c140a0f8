/**
 * Refuses URLs that point into private networks, so a user-supplied URL cannot turn a
 * function against internal services (SSRF). Hostnames are resolved and every address
 * they resolve to must be public. HTTP_JSON_ALLOW_PRIVATE=true (set by the local stack)
 * lifts the rule for development against 127.0.0.1.
 */
import { isIP } from "node:net";
import { Permanent } from "./errors.ts";

function isPrivateV4(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
}

function isPrivateV6(ip: string): boolean {
  const v = ip.toLowerCase();
  if (v === "::" || v === "::1") return true;
  const mapped = v.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (mapped) return isPrivateV4(mapped[1]);
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(v);
}

export function isPrivateAddress(ip: string): boolean {
  return isIP(ip) === 4 ? isPrivateV4(ip) : isIP(ip) === 6 ? isPrivateV6(ip) : true;
}

export async function assertPublicUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Permanent(`"${raw}" is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Permanent(`only http and https URLs can be synced, not ${url.protocol}`);
  }
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    const found = await Promise.allSettled([Deno.resolveDns(host, "A"), Deno.resolveDns(host, "AAAA")]);
    addresses = found.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    if (addresses.length === 0) throw new Permanent(`the host ${host} could not be resolved`);
  }
  if (addresses.some(isPrivateAddress)) {
    throw new Permanent(`${host} is a private, loopback or link-local address, which this function may not reach`);
  }
  return url;
}
