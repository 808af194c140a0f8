/**
 * One server for every fake upstream, each under its own path prefix, plus a control
 * API tests (and the demo) use to seed data, queue faults and read what was asked:
 *
 *   PUT  /_control/<fake>/<tenant>           seed (replaces the tenant)
 *   POST /_control/<fake>/<tenant>/update    upstream data changes
 *   POST /_control/<fake>/<tenant>/faults    queue a fault (see fake.ts)
 *   GET  /_control/<fake>/<tenant>/faults    the faults still queued (not yet served)
 *   PUT  /_control/<fake>/<tenant>/delay     {ms}: slow every answer down
 *   GET  /_control/<fake>/<tenant>/requests  the requests the tenant received
 *   GET  /_control/<fake>/<tenant>/truth     the data, in plain units
 *
 * `npm test` serves it beside the test stack and points the functions' *_BASE secrets
 * at it (baseUrls); `npm start -- --demo <provider>` does the same on the dev stack.
 * Run alone: deno run -A tests/fakes/server.ts --port 54329
 */
import type { FakeUpstream } from "./fake.ts";
import { GoogleAdsFake } from "./google-ads.ts";
import { GoogleOAuthFake } from "./google-oauth.ts";
import { GoogleSheetsFake } from "./google-sheets.ts";
import { LINKEDIN_FAKE_MAX_ELEMENTS, LinkedInAdsFake } from "./linkedin-ads.ts";
import { MetaAdsFake } from "./meta-ads.ts";
import { RecordsApiFake } from "./records-api.ts";
import { FAKE_SPOTIFY_CLIENT, SpotifyFake } from "./spotify.ts";
import { SteamFake } from "./steam.ts";
import { TikTokAdsFake } from "./tiktok-ads.ts";

export function createFakes(): FakeUpstream[] {
  // The Google API fakes accept only access tokens the OAuth fake issued: they share it.
  const googleOAuth = new GoogleOAuthFake();
  return [
    new SteamFake(),
    new SpotifyFake(),
    googleOAuth,
    new GoogleAdsFake(googleOAuth),
    new GoogleSheetsFake(googleOAuth),
    new MetaAdsFake(),
    new LinkedInAdsFake(),
    new TikTokAdsFake(),
    new RecordsApiFake(),
  ];
}

/** The function secrets that point the providers at fakes served from `url`. */
export function baseUrls(url: string): Record<string, string> {
  return {
    STEAM_API_BASE: `${url}/steam`,
    SPOTIFY_API_BASE: `${url}/spotify`,
    SPOTIFY_ACCOUNTS_BASE: `${url}/spotify/accounts`,
    SPOTIFY_CLIENT_ID: FAKE_SPOTIFY_CLIENT.id,
    SPOTIFY_CLIENT_SECRET: FAKE_SPOTIFY_CLIENT.secret,
    META_GRAPH_API_BASE: `${url}/meta-ads`,
    LINKEDIN_API_BASE: `${url}/linkedin-ads`,
    // The fake cuts adAnalytics answers where LinkedIn does, only much sooner: the adapter must know where.
    LINKEDIN_MAX_ELEMENTS: String(LINKEDIN_FAKE_MAX_ELEMENTS),
    TIKTOK_API_BASE: `${url}/tiktok-ads`,
    GOOGLE_OAUTH_TOKEN_URL: `${url}/google-oauth/token`,
    GOOGLE_ADS_API_BASE: `${url}/google-ads`,
    GOOGLE_SHEETS_API_BASE: `${url}/google-sheets`,
  };
}

export interface FakeServer {
  url: string;
  fakes: Map<string, FakeUpstream>;
  close(): Promise<void>;
}

async function control(fakes: Map<string, FakeUpstream>, req: Request, parts: string[]): Promise<Response> {
  const [fakeName, tenantId, action] = parts.map(decodeURIComponent);
  const fake = fakes.get(fakeName);
  if (!fake) return Response.json({ error: `no fake named ${fakeName}` }, { status: 404 });
  const body = req.method === "GET" ? undefined : await req.json().catch(() => ({}));
  try {
    if (!action && req.method === "PUT") return Response.json(fake.seed(tenantId, body) ?? {});
    if (action === "update" && req.method === "POST") return Response.json(fake.update(tenantId, body) ?? {});
    if (action === "truth" && req.method === "GET") return Response.json(fake.truth(tenantId));
    const tenant = fake.tenant(tenantId);
    if (!tenant) return Response.json({ error: `no tenant ${tenantId} in ${fakeName}: seed it first` }, { status: 404 });
    if (action === "faults" && req.method === "POST") {
      tenant.faults.push(body);
      return new Response(null, { status: 204 });
    }
    if (action === "faults" && req.method === "GET") return Response.json(tenant.faults);
    if (action === "delay" && req.method === "PUT") {
      tenant.delayMs = Number(body.ms ?? 0);
      return new Response(null, { status: 204 });
    }
    if (action === "requests" && req.method === "GET") return Response.json(tenant.requests);
  } catch (e) {
    return Response.json({ error: (e as Error).message }, { status: 400 });
  }
  return Response.json({ error: `no control route ${req.method} ${parts.join("/")}` }, { status: 404 });
}

export function serveFakes(port: number, hostname = "127.0.0.1"): FakeServer {
  const fakes = new Map(createFakes().map((f) => [f.name, f]));
  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (req) => {
    const [first, ...rest] = new URL(req.url).pathname.split("/").filter(Boolean);
    if (first === "_control") return await control(fakes, req, rest);
    const fake = fakes.get(first);
    if (!fake) return Response.json({ error: `no fake upstream at /${first}` }, { status: 404 });
    try {
      return await fake.handle(req, `/${rest.join("/")}`);
    } catch (e) {
      // A fake that throws has a bug; say so loudly rather than pass for an upstream 500.
      console.error(`[fakes] ${first}: ${(e as Error).stack}`);
      return Response.json({ error: `fake ${first} crashed: ${(e as Error).message}` }, { status: 599 });
    }
  });
  return { url: `http://${hostname}:${server.addr.port}`, fakes, close: () => server.shutdown() };
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--port");
  const { url } = serveFakes(i >= 0 ? Number(Deno.args[i + 1]) : 0);
  console.log(`fake upstreams at ${url}`);
}
