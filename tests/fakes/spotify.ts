/**
 * Fake Spotify Web API (recently played) and accounts service (token refresh), per
 * PROVIDERS.md. A tenant is a listener; it holds a refresh token, and with `rotate` set
 * every refresh issues a new refresh token and retires the old one (reusing it gets
 * invalid_grant, as a stale token would). Only the newest 50 plays exist upstream.
 */
import { type FakeUpstream, hang, requestLog, sleep, type Tenant, Tenants } from "./fake.ts";

export const FAKE_SPOTIFY_CLIENT = { id: "tributary-fake-client", secret: "fake-client-secret-0123456789" };

interface Play {
  played_at: string;
  track: { id: string; name: string; artists: { id: string; name: string }[]; album: { id: string; name: string }; duration_ms: number };
}

interface SpotifyData {
  refreshToken: string;
  rotate: boolean;
  plays: Play[];
  nextPlay: number;
  start: number;
  stepMs: number;
  refreshes: number;
}

const UPSTREAM_KEEPS = 50;

function play(n: number, at: number): Play {
  const t = n % 7;
  const a = t % 3;
  return {
    played_at: new Date(at).toISOString(),
    track: {
      id: `track${t}`,
      name: `Track ${t}`,
      artists: [{ id: `artist${a}`, name: `Artist ${a}` }],
      album: { id: `album${a}`, name: `Album ${a}` },
      duration_ms: 180_000 + t * 10_000,
    },
  };
}

const apiError = (status: number, message: string) => Response.json({ error: { status, message } }, { status });

export class SpotifyFake implements FakeUpstream {
  readonly name = "spotify";
  #tenants = new Tenants<SpotifyData>("spotify");
  /** Issued access tokens: which tenant, until when. */
  #tokens = new Map<string, { tenant: string; expires: number }>();

  tenant(id: string) {
    return this.#tenants.find(id);
  }

  /** `{refresh_token, plays, start (ISO), step_minutes?, rotate?}` */
  seed(id: string, spec: Record<string, any>) {
    const data: SpotifyData = {
      refreshToken: spec.refresh_token,
      rotate: spec.rotate ?? false,
      plays: [],
      nextPlay: 0,
      start: Date.parse(spec.start ?? "2026-11-01T08:00:00Z"),
      stepMs: (spec.step_minutes ?? 5) * 60_000,
      refreshes: 0,
    };
    this.#tenants.set(id, data);
    this.update(id, { plays: spec.plays ?? 10 });
    return {};
  }

  /** `{plays: n}`: n more plays, newer than any before. */
  update(id: string, change: Record<string, any>) {
    const data = this.#tenants.get(id).data;
    for (let i = 0; i < (change.plays ?? 1); i++) {
      data.plays.push(play(data.nextPlay, data.start + data.nextPlay * data.stepMs));
      data.nextPlay++;
    }
    return { refresh_token: data.refreshToken, refreshes: data.refreshes };
  }

  truth(id: string) {
    const data = this.#tenants.get(id).data;
    return { plays: data.plays.map((p) => ({ played_at: p.played_at, track_id: p.track.id })), refresh_token: data.refreshToken, refreshes: data.refreshes };
  }

  #byRefreshToken(token: string | null): [string, Tenant<SpotifyData>] | undefined {
    for (const [id, t] of this.#tenants.values()) if (token && t.data.refreshToken === token) return [id, t];
  }

  async handle(req: Request, path: string): Promise<Response> {
    if (path === "/accounts/api/token" && req.method === "POST") return await this.#token(req, path);
    if (path === "/v1/me/player/recently-played" && req.method === "GET") return await this.#recentlyPlayed(req, path);
    return apiError(404, "Service not found");
  }

  async #token(req: Request, path: string): Promise<Response> {
    const expected = `Basic ${btoa(`${FAKE_SPOTIFY_CLIENT.id}:${FAKE_SPOTIFY_CLIENT.secret}`)}`;
    if (req.headers.get("authorization") !== expected) {
      return Response.json({ error: "invalid_client", error_description: "Invalid client" }, { status: 400 });
    }
    if (!req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded")) {
      return Response.json({ error: "invalid_request", error_description: "Unsupported content type" }, { status: 400 });
    }
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") !== "refresh_token") {
      return Response.json({ error: "unsupported_grant_type", error_description: "grant_type must be refresh_token" }, { status: 400 });
    }
    const found = this.#byRefreshToken(form.get("refresh_token"));
    if (!found || found[1].revoked) {
      return Response.json({ error: "invalid_grant", error_description: "Refresh token revoked" }, { status: 400 });
    }
    const [id, tenant] = found;
    tenant.requests.push(requestLog(req, path));
    const fault = tenant.takeFault(path);
    if (fault?.kind === "revoked") return Response.json({ error: "invalid_grant", error_description: "Refresh token revoked" }, { status: 400 });
    if (fault?.kind === "server-error") return apiError(fault.status ?? 503, "Service unavailable");
    if (fault?.kind === "rate-limit") return new Response(null, { status: 429, headers: { "retry-after": String(fault.retry_after_s ?? 1) } });
    const access = `BQ${crypto.randomUUID().replaceAll("-", "")}`;
    this.#tokens.set(access, { tenant: id, expires: Date.now() + 3600_000 });
    tenant.data.refreshes++;
    const body: Record<string, unknown> = { access_token: access, token_type: "Bearer", scope: "user-read-recently-played", expires_in: 3600 };
    if (tenant.data.rotate) {
      tenant.data.refreshToken = `AQ${crypto.randomUUID().replaceAll("-", "")}`;
      body.refresh_token = tenant.data.refreshToken;
    }
    return Response.json(body);
  }

  async #recentlyPlayed(req: Request, path: string): Promise<Response> {
    const token = req.headers.get("authorization")?.match(/^Bearer (.+)$/)?.[1];
    const issued = token ? this.#tokens.get(token) : undefined;
    if (!issued) return apiError(401, "Invalid access token");
    const tenant = this.#tenants.get(issued.tenant);
    tenant.requests.push(requestLog(req, path));
    if (tenant.delayMs) await sleep(tenant.delayMs);
    if (tenant.revoked) return apiError(401, "Invalid access token");
    if (issued.expires < Date.now()) return apiError(401, "The access token expired");
    const fault = tenant.takeFault(path);
    if (fault?.kind === "expired-token") {
      issued.expires = 0;
      return apiError(401, "The access token expired");
    }
    if (fault?.kind === "revoked") return apiError(401, "Invalid access token");
    if (fault?.kind === "rate-limit") {
      return new Response(null, { status: 429, headers: { "retry-after": String(fault.retry_after_s ?? 1) } });
    }
    if (fault?.kind === "server-error") return apiError(fault.status ?? 502, "Bad gateway");
    if (fault?.kind === "timeout") return await hang(req, fault);

    const q = new URL(req.url).searchParams;
    const limit = Number(q.get("limit") ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) return apiError(400, "Invalid limit");
    if (q.has("after") && q.has("before")) return apiError(400, "Only one of after and before may be given");
    const kept = tenant.data.plays.slice(-UPSTREAM_KEEPS).reverse(); // newest first
    const after = q.has("after") ? Number(q.get("after")) : null;
    const before = q.has("before") ? Number(q.get("before")) : null;
    const matching = kept.filter((p) => {
      const at = Date.parse(p.played_at);
      return (after === null || at > after) && (before === null || at < before);
    });
    const items = matching.slice(0, limit);
    const newest = items[0] ? Date.parse(items[0].played_at) : null;
    const oldest = items.at(-1) ? Date.parse(items.at(-1)!.played_at) : null;
    const self = new URL(req.url);
    return Response.json({
      href: self.href,
      limit,
      next: matching.length > items.length && oldest !== null ? `${self.origin}${self.pathname}?before=${oldest}&limit=${limit}` : null,
      cursors: items.length ? { after: String(newest), before: String(oldest) } : null,
      total: matching.length,
      items: items.map((p) => ({ ...p, context: { type: "playlist", uri: "spotify:playlist:fake" } })),
    });
  }
}
