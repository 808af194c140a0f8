/**
 * The local Realtime server: Phoenix channels over a WebSocket at /realtime/v1/websocket,
 * with Broadcast (from clients and from the database) and Presence. Postgres Changes are
 * not implemented; a join that asks for them is told so in a `system` message.
 *
 * Behaviour copied from supabase/realtime (see PLATFORM.md):
 *   - the `apikey` query parameter is checked at connect; a bad one gets 401 JSON;
 *   - a join uses its `access_token` (or the apikey) and, for a private channel, the RLS
 *     probe in authorization.ts; failures reply `{status:"error", response:{reason}}`;
 *   - a database broadcast reaches channels whose `private` setting matches the row's;
 *   - the channel closes when its token expires, unless an `access_token` push renewed it.
 */
import type { Sql } from "postgres";
import type { Claims } from "../keys.ts";
import { authorize, type Permissions } from "./authorization.ts";
import { type Broadcast, decode, encodeBroadcast, encodeReply, type Message, type Vsn } from "./protocol.ts";
import { checkToken } from "./tokens.ts";

const TOPIC_PREFIX = "realtime:";
const MAX_TOKEN_CHECK_MS = 60 * 60 * 1000;

interface Channel {
  wireTopic: string;
  subTopic: string;
  joinRef: string | null;
  private: boolean;
  broadcastSelf: boolean;
  broadcastAck: boolean;
  presenceEnabled: boolean;
  presenceKey: string;
  token: string;
  claims: Claims;
  permissions: Permissions;
  expiry?: ReturnType<typeof setTimeout>;
}

/** A database broadcast: one committed row of realtime.messages. */
export interface StoredBroadcast {
  id: string;
  topic: string;
  event: string;
  payload: unknown;
  private: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

class Connection {
  readonly channels = new Map<string, Channel>();

  constructor(
    readonly server: RealtimeServer,
    readonly ws: WebSocket,
    readonly vsn: Vsn,
    readonly apikey: string,
  ) {}

  send(frame: string | Uint8Array<ArrayBuffer>) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  push(topic: string, event: string, payload: unknown, joinRef: string | null = null) {
    this.send(encodeReply(this.vsn, { join_ref: joinRef, ref: null, topic, event, payload }));
  }

  reply(to: Message, status: "ok" | "error", response: unknown) {
    this.send(encodeReply(this.vsn, {
      join_ref: to.join_ref,
      ref: to.ref,
      topic: to.topic,
      event: "phx_reply",
      payload: { status, response },
    }));
  }

  async onFrame(frame: string | ArrayBuffer) {
    const message = decode(this.vsn, frame);
    if (!message) return; // malformed: dropped, as Phoenix drops what it cannot decode
    try {
      await this.dispatch(message);
    } catch (e) {
      console.error("[realtime] error handling", message.event, "on", message.topic, e);
      if (message.ref) this.reply(message, "error", { reason: "Internal error" });
    }
  }

  private async dispatch(m: Message) {
    if (m.topic === "phoenix") {
      if (m.event === "heartbeat") this.reply(m, "ok", {});
      return;
    }
    if (m.event === "phx_join") return await this.join(m);
    const channel = this.channels.get(m.topic);
    if (!channel) {
      this.reply(m, "error", { reason: "unmatched topic" });
      return;
    }
    switch (m.event) {
      case "phx_leave":
        this.leave(channel);
        this.reply(m, "ok", {});
        return;
      case "access_token":
        return await this.refreshToken(channel, m);
      case "broadcast":
        return await this.clientBroadcast(channel, m);
      case "presence":
        return await this.presence(channel, m);
      default:
        // Realtime ignores events it does not know.
        return;
    }
  }

  private async join(m: Message) {
    const payload = isObject(m.payload) ? m.payload : {};
    const config = isObject(payload.config) ? payload.config : {};
    const broadcast = isObject(config.broadcast) ? config.broadcast : {};
    const presence = isObject(config.presence) ? config.presence : {};
    const postgresChanges = Array.isArray(config.postgres_changes) ? config.postgres_changes : [];
    const isPrivate = config.private === true;
    const subTopic = m.topic.startsWith(TOPIC_PREFIX) ? m.topic.slice(TOPIC_PREFIX.length) : m.topic;

    let token = typeof payload.access_token === "string" ? payload.access_token : this.apikey;
    if (token.startsWith("sb_")) token = this.apikey;
    const check = await checkToken(token);
    if (!check.ok) {
      this.reply(m, "error", { reason: `${check.code}: ${check.message}` });
      return;
    }
    const permissions = isPrivate
      ? await authorize(this.server.sql, subTopic, check.claims)
      : { read: true, write: true };
    if (!permissions.read) {
      this.reply(m, "error", {
        reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
      });
      return;
    }

    const previous = this.channels.get(m.topic);
    if (previous) this.leave(previous);
    const channel: Channel = {
      wireTopic: m.topic,
      subTopic,
      joinRef: m.join_ref ?? m.ref,
      private: isPrivate,
      broadcastSelf: broadcast.self === true,
      broadcastAck: broadcast.ack === true,
      presenceEnabled: presence.enabled === true,
      presenceKey: typeof presence.key === "string" && presence.key !== "" ? presence.key : crypto.randomUUID(),
      token,
      claims: check.claims,
      permissions,
    };
    this.channels.set(m.topic, channel);
    this.scheduleTokenCheck(channel);

    // Echo the bindings back by index, each with an id, so realtime-js accepts the join.
    const echoed = postgresChanges.map((binding) => ({
      ...(isObject(binding) ? binding : {}),
      id: Math.floor(Math.random() * 2 ** 31),
    }));
    this.reply(m, "ok", { postgres_changes: echoed });
    if (echoed.length > 0) {
      this.push(m.topic, "system", {
        extension: "postgres_changes",
        status: "error",
        message: "Postgres Changes are not available on the local stack; use Broadcast (realtime.send) instead.",
        channel: subTopic,
      }, channel.joinRef);
    }
    if (channel.presenceEnabled) {
      this.push(m.topic, "presence_state", this.server.presenceState(channel), channel.joinRef);
    }
  }

  leave(channel: Channel) {
    clearTimeout(channel.expiry);
    this.channels.delete(channel.wireTopic);
    this.server.untrack(channel);
  }

  private close(channel: Channel, message: string) {
    this.push(channel.wireTopic, "system", { extension: "system", status: "error", message, channel: channel.subTopic }, channel.joinRef);
    this.push(channel.wireTopic, "phx_close", {}, channel.joinRef);
    this.leave(channel);
  }

  private scheduleTokenCheck(channel: Channel) {
    clearTimeout(channel.expiry);
    const exp = Number(channel.claims.exp) * 1000;
    const delay = Math.max(0, Math.min(exp - Date.now(), MAX_TOKEN_CHECK_MS));
    channel.expiry = setTimeout(async () => {
      if (this.channels.get(channel.wireTopic) !== channel) return;
      const check = await checkToken(channel.token);
      if (!check.ok) this.close(channel, check.message);
      else this.scheduleTokenCheck(channel);
    }, delay);
  }

  private async refreshToken(channel: Channel, m: Message) {
    const token = isObject(m.payload) ? m.payload.access_token : undefined;
    if (typeof token !== "string" || token === channel.token || token.startsWith("sb_")) return;
    const check = await checkToken(token);
    if (!check.ok) return this.close(channel, check.message);
    if (channel.private) {
      const permissions = await authorize(this.server.sql, channel.subTopic, check.claims);
      if (!permissions.read) {
        return this.close(channel, `You no longer have permission to read from this Channel topic: ${channel.subTopic}`);
      }
      channel.permissions = permissions;
    }
    channel.token = token;
    channel.claims = check.claims;
    this.scheduleTokenCheck(channel);
  }

  private async clientBroadcast(channel: Channel, m: Message) {
    const body = isObject(m.payload) ? m.payload : null;
    if (!body || typeof body.event !== "string") return;
    // Write permission is probed again per push, as policies may depend on the payload's time.
    if (channel.private && !(await authorize(this.server.sql, channel.subTopic, channel.claims)).write) return;
    this.server.fanOut(channel.subTopic, channel.private, { event: body.event, payload: body.payload }, {
      except: channel.broadcastSelf ? undefined : this,
    });
    if (channel.broadcastAck && m.ref) this.reply(m, "ok", {});
  }

  private async presence(channel: Channel, m: Message) {
    const body = isObject(m.payload) ? m.payload : {};
    if (channel.private && !(await authorize(this.server.sql, channel.subTopic, channel.claims)).write) {
      if (m.ref) this.reply(m, "error", { reason: "Unauthorized: You do not have permissions to track presence" });
      return;
    }
    if (body.event === "track") this.server.track(this, channel, isObject(body.payload) ? body.payload : {});
    else if (body.event === "untrack") this.server.untrack(channel);
    if (m.ref) this.reply(m, "ok", {});
  }
}

type PresenceEntry = { connection: Connection; channel: Channel; meta: Record<string, unknown> };

export class RealtimeServer {
  readonly #connections = new Set<Connection>();
  /** `${private}:${subTopic}` -> presence entries */
  readonly #presence = new Map<string, Map<Channel, PresenceEntry>>();

  constructor(readonly sql: Sql) {}

  /** Handles GET /realtime/v1/websocket. */
  async upgrade(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "Expected a WebSocket upgrade" }, { status: 400 });
    }
    const apikey = url.searchParams.get("apikey") ?? req.headers.get("apikey") ?? "";
    if (!apikey) return Response.json({ error: "API key is missing" }, { status: 401 });
    const check = await checkToken(apikey);
    if (!check.ok) return Response.json({ error: check.message }, { status: 401 });
    const vsn: Vsn = url.searchParams.get("vsn") === "2.0.0" ? "2.0.0" : "1.0.0";

    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    const connection = new Connection(this, socket, vsn, apikey);
    socket.onopen = () => this.#connections.add(connection);
    socket.onmessage = (e) => void connection.onFrame(e.data);
    socket.onclose = () => this.#drop(connection);
    socket.onerror = () => this.#drop(connection);
    return response;
  }

  #drop(connection: Connection) {
    if (!this.#connections.delete(connection)) return;
    for (const channel of [...connection.channels.values()]) connection.leave(channel);
  }

  /** Sends a broadcast to every joined channel on the topic with the same privacy. */
  fanOut(
    subTopic: string,
    isPrivate: boolean,
    message: { event: string; payload: unknown; meta?: Record<string, unknown> },
    options: { except?: Connection } = {},
  ) {
    for (const connection of this.#connections) {
      if (connection === options.except) continue;
      for (const channel of connection.channels.values()) {
        if (channel.subTopic !== subTopic || channel.private !== isPrivate) continue;
        const broadcast: Broadcast = { topic: channel.wireTopic, ...message };
        connection.send(encodeBroadcast(connection.vsn, broadcast));
      }
    }
  }

  /** A committed row of realtime.messages. */
  deliver(row: StoredBroadcast) {
    this.fanOut(row.topic, row.private, { event: row.event, payload: row.payload, meta: { id: row.id } });
  }

  presenceState(channel: Channel) {
    const state: Record<string, { metas: Record<string, unknown>[] }> = {};
    for (const entry of this.#presence.get(`${channel.private}:${channel.subTopic}`)?.values() ?? []) {
      (state[entry.channel.presenceKey] ??= { metas: [] }).metas.push(entry.meta);
    }
    return state;
  }

  track(connection: Connection, channel: Channel, payload: Record<string, unknown>) {
    const key = `${channel.private}:${channel.subTopic}`;
    const entries = this.#presence.get(key) ?? new Map<Channel, PresenceEntry>();
    this.#presence.set(key, entries);
    const previous = entries.get(channel);
    const meta = { ...payload, phx_ref: crypto.randomUUID().replaceAll("-", "").slice(0, 20) };
    entries.set(channel, { connection, channel, meta });
    const leaves = previous ? { [channel.presenceKey]: { metas: [previous.meta] } } : {};
    this.#presenceDiff(channel, { joins: { [channel.presenceKey]: { metas: [meta] } }, leaves });
  }

  untrack(channel: Channel) {
    const key = `${channel.private}:${channel.subTopic}`;
    const entry = this.#presence.get(key)?.get(channel);
    if (!entry) return;
    this.#presence.get(key)!.delete(channel);
    this.#presenceDiff(channel, { joins: {}, leaves: { [channel.presenceKey]: { metas: [entry.meta] } } });
  }

  #presenceDiff(source: Channel, diff: unknown) {
    for (const connection of this.#connections) {
      for (const channel of connection.channels.values()) {
        if (channel.subTopic !== source.subTopic || channel.private !== source.private) continue;
        if (!channel.presenceEnabled) continue;
        connection.push(channel.wireTopic, "presence_diff", diff, channel.joinRef);
      }
    }
  }

  close() {
    for (const connection of this.#connections) {
      try {
        connection.ws.close(1001, "server shutting down");
      } catch { /* already closed */ }
    }
    this.#connections.clear();
  }
}
