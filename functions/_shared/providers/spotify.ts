/**
 * Spotify recently played tracks (PROVIDERS.md, Spotify). Only the last 50 plays exist
 * upstream, so an incremental run asks for plays `after` the newest one it has (the
 * high-watermark, Unix ms) and the sync should run often. Plays are keyed by
 * (played_at, track id), tracks by id.
 *
 * Access tokens come from the stored refresh token (Basic client auth with the
 * deployment's SPOTIFY_CLIENT_ID/SECRET). Spotify may rotate the refresh token: the new
 * one is written to Vault before the access token is used, so a crash right after can
 * never strand the connection with a dead token. invalid_grant means the user revoked
 * access: the connection is marked for reconnecting.
 *
 * Job kinds: incremental, backfill (whatever Spotify still has), and daily-summary,
 * the follow-up that rebuilds synced.spotify_daily_summary.
 */
import { z } from "zod";
import { incrementalParams } from "../dates.ts";
import { Permanent, RateLimited, Retryable, retryAfterSeconds } from "../errors.ts";
import type { Chunk, JobContext, Provider } from "../provider.ts";
import { messageOf, responseJson, throwForStatus } from "./upstream.ts";

export const account = z.object({
  // A label only: the refresh token decides whose plays come back.
  user_id: z.string().max(200).optional(),
}).strict();

export const credentials = z.object({
  refresh_token: z.string().min(10, "the refresh token from Spotify's authorization code flow"),
  access_token: z.string().optional(),
  /** When access_token expires (Unix ms). */
  expires_at: z.number().optional(),
}).strict();

type Account = z.infer<typeof account>;
type Credentials = z.infer<typeof credentials>;
type Ctx = JobContext<Account, Credentials>;

interface Cursor {
  /** Page backwards from here (Unix ms); null for the first page. */
  before: number | null;
  newest: number;
  plays: number;
}

const PAGE = 50;

async function refreshAccessToken(ctx: Ctx): Promise<string> {
  const id = ctx.env("SPOTIFY_CLIENT_ID");
  const secret = ctx.env("SPOTIFY_CLIENT_SECRET");
  if (!id || !secret) {
    throw new Permanent("SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET are not set: set them as function secrets (supabase secrets set).");
  }
  const base = (ctx.env("SPOTIFY_ACCOUNTS_BASE") ?? "https://accounts.spotify.com").replace(/\/$/, "");
  const res = await ctx.fetch(`${base}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa(`${id}:${secret}`)}` },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: ctx.credentials.refresh_token }),
  });
  const body = await res.json().catch(() => ({})) as Record<string, any>;
  if (res.ok && typeof body.access_token === "string") {
    // Stored before use: a rotated refresh token must survive a crash right after this.
    await ctx.saveCredentials({
      refresh_token: typeof body.refresh_token === "string" ? body.refresh_token : ctx.credentials.refresh_token,
      access_token: body.access_token,
      expires_at: Date.now() + Number(body.expires_in ?? 3600) * 1000,
    });
    return body.access_token;
  }
  const why = [body.error, body.error_description].filter(Boolean).join(": ") || `HTTP ${res.status}`;
  if (body.error === "invalid_grant") throw await ctx.reconnect(`Spotify no longer accepts this account's sign-in (${why}).`);
  if (res.status === 429) throw new RateLimited(`Spotify token endpoint rate limit: ${why}`, retryAfterSeconds(res.headers.get("retry-after")));
  if (res.status >= 500) throw new Retryable(`Spotify token endpoint ${res.status}: ${why}`);
  throw new Permanent(`Spotify refused the deployment's client credentials (${why}): check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET.`);
}

async function accessToken(ctx: Ctx): Promise<string> {
  const { access_token, expires_at } = ctx.credentials;
  if (access_token && expires_at && expires_at > Date.now() + 60_000) return access_token;
  return await refreshAccessToken(ctx);
}

async function recentlyPlayed(ctx: Ctx, query: Record<string, string>): Promise<Record<string, any>> {
  const base = (ctx.env("SPOTIFY_API_BASE") ?? "https://api.spotify.com").replace(/\/$/, "");
  const url = `${base}/v1/me/player/recently-played?${new URLSearchParams({ limit: String(PAGE), ...query })}`;
  for (let refreshed = false;; refreshed = true) {
    const token = refreshed ? await refreshAccessToken(ctx) : await accessToken(ctx);
    const res = await ctx.fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.ok) return await responseJson(res, "Spotify recently-played") as Record<string, any>;
    if (res.status === 401 && !refreshed) {
      // Expired or revoked early: one refresh, then a second 401 is for real.
      await res.body?.cancel();
      continue;
    }
    if (res.status === 401) {
      const message = messageOf(await res.json().catch(() => null)) ?? "401";
      throw await ctx.reconnect(`Spotify refused a freshly issued access token (${message}).`);
    }
    return await throwForStatus(res, "Spotify recently-played");
  }
}

async function save(ctx: Ctx, items: Record<string, any>[]) {
  const tracks = new Map<string, unknown>();
  for (const { track } of items) {
    tracks.set(track.id, {
      track_id: track.id,
      name: track.name,
      artists: (track.artists ?? []).map((a: Record<string, unknown>) => ({ id: a.id, name: a.name })),
      album: track.album ? { id: track.album.id, name: track.album.name } : null,
      duration_ms: track.duration_ms ?? null,
    });
  }
  const plays = items.map((i) => ({ played_at: i.played_at, track_id: i.track.id, context: i.context ?? null }));
  // One statement (so atomic, and one round trip): tracks first, then the plays.
  const sql = ctx.sql;
  await sql`
    with tracks as (
      insert into synced.spotify_tracks (connection_id, owner_id, track_id, name, artists, album, duration_ms)
      select ${ctx.connection.id}, ${ctx.connection.owner_id}, t.track_id, t.name, t.artists, t.album, t.duration_ms
      from jsonb_to_recordset(${sql.json([...tracks.values()] as never)}) as t (track_id text, name text, artists jsonb, album jsonb, duration_ms integer)
      on conflict (connection_id, track_id) do update set
        name = excluded.name, artists = excluded.artists, album = excluded.album, duration_ms = excluded.duration_ms, synced_at = now()
    )
    insert into synced.spotify_plays (connection_id, owner_id, played_at, track_id, context)
    select ${ctx.connection.id}, ${ctx.connection.owner_id}, p.played_at, p.track_id, p.context
    from jsonb_to_recordset(${sql.json(plays as never)}) as p (played_at timestamptz, track_id text, context jsonb)
    on conflict (connection_id, played_at, track_id) do nothing
  `;
}

async function* dailySummary(ctx: Ctx): AsyncGenerator<Chunk> {
  const [{ n }] = await ctx.sql`select synced.refresh_spotify_daily_summary(${ctx.connection.id}) as n`;
  yield { cursor: null, progress: { phase: "done", done: 1, total: 1, message: `${n} days summarised` }, stats: { days: n }, done: true };
}

export const spotify: Provider<Account, Credentials> = {
  name: "spotify",
  kinds: ["incremental", "backfill", "daily-summary"],
  account,
  credentials,
  params: {
    incremental: incrementalParams,
    backfill: z.object({}).strict(),
    "daily-summary": z.object({ after_job: z.string().uuid().optional() }).strict(),
  },
  followUp: (kind) => (kind === "daily-summary" ? null : "daily-summary"),
  // A sync writes at most 50 plays: the queue's statements cost more than the job.
  batchSize: 10,
  async *run(ctx) {
    if (ctx.job.kind === "daily-summary") return yield* dailySummary(ctx);

    const after = ctx.job.kind === "incremental" ? (ctx.connection.high_watermark as { after?: number } | null)?.after ?? null : null;
    const c: Cursor = (ctx.cursor as Cursor | null) ?? { before: null, newest: after ?? 0, plays: 0 };
    while (true) {
      const page = await recentlyPlayed(ctx, c.before !== null ? { before: String(c.before) } : after !== null ? { after: String(after) } : {});
      // Paging backwards may reach plays older than the watermark: those are synced already.
      const items = ((page.items ?? []) as Record<string, any>[])
        .filter((i) => i?.track?.id && i.played_at && (after === null || Date.parse(i.played_at) > after));
      if (items.length > 0 && !ctx.job.dry_run) await save(ctx, items);
      c.plays += items.length;
      for (const i of items) c.newest = Math.max(c.newest, Date.parse(i.played_at));
      const more = Boolean(page.next && page.cursors?.before) && items.length > 0;
      c.before = more ? Number(page.cursors.before) : null;
      if (!more) break;
      yield { cursor: c, progress: { phase: "downloading", done: c.plays, message: `${c.plays} plays` }, stats: { plays: c.plays }, done: false };
    }
    yield {
      cursor: { after: c.newest || after },
      progress: { phase: "done", done: c.plays, total: c.plays, message: `${c.plays} new plays` },
      stats: { plays: c.plays },
      done: true,
    };
  },
};
