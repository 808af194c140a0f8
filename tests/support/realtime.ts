/** Helpers for Realtime tests: subscribing with supabase-js, and a raw Phoenix socket. */
import type { RealtimeChannel, SupabaseClient } from "@supabase/supabase-js";
import { apiUrl, anonKey } from "./stack.ts";

export interface Received {
  event: string;
  payload: Record<string, unknown>;
}

/** Subscribes and resolves with the outcome: SUBSCRIBED, or the error the server gave. */
export function subscribe(
  client: SupabaseClient,
  topic: string,
  options: { private?: boolean; self?: boolean; ack?: boolean } = {},
): Promise<{ channel: RealtimeChannel; status: string; error?: Error; received: Received[] }> {
  const received: Received[] = [];
  const channel = client.channel(topic, {
    config: { private: options.private ?? true, broadcast: { self: options.self ?? false, ack: options.ack ?? false } },
  });
  channel.on("broadcast", { event: "*" }, (message) => {
    received.push({ event: message.event, payload: message.payload });
  });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`subscribe(${topic}) never settled`)), 15_000);
    channel.subscribe((status, error) => {
      clearTimeout(guard);
      if (status === "SUBSCRIBED" || status === "CHANNEL_ERROR" || status === "TIMED_OUT") {
        resolve({ channel, status, error, received });
      }
    });
  });
}

export async function closeClient(client: SupabaseClient) {
  await client.removeAllChannels();
  client.realtime.disconnect();
}

/** A bare Phoenix socket, for checking frames on the wire. */
export class RawSocket {
  readonly frames: (string | ArrayBuffer)[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;
  #ref = 0;
  #waiters: (() => void)[] = [];

  constructor(readonly vsn: "1.0.0" | "2.0.0", apikey = anonKey) {
    const url = `${apiUrl.replace(/^http/, "ws")}/realtime/v1/websocket?apikey=${encodeURIComponent(apikey)}&vsn=${vsn}`;
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error("socket failed to open"));
    });
    this.closed = new Promise((resolve) => this.ws.addEventListener("close", (e) => resolve(e)));
    this.ws.onmessage = (e) => {
      this.frames.push(e.data);
      for (const wake of this.#waiters.splice(0)) wake();
    };
  }

  nextRef() {
    return String(++this.#ref);
  }

  send(frame: string | Uint8Array<ArrayBuffer>) {
    this.ws.send(frame);
  }

  /** Sends a message in this socket's framing and returns its ref. */
  push(topic: string, event: string, payload: unknown, joinRef: string | null = null): string {
    const ref = this.nextRef();
    this.send(
      this.vsn === "2.0.0"
        ? JSON.stringify([joinRef, ref, topic, event, payload])
        : JSON.stringify({ topic, event, payload, ref, join_ref: joinRef }),
    );
    return ref;
  }

  /** Decoded text frames as {join_ref, ref, topic, event, payload}. */
  messages() {
    return this.frames.filter((f): f is string => typeof f === "string").map((f) => {
      const m = JSON.parse(f);
      return Array.isArray(m) ? { join_ref: m[0], ref: m[1], topic: m[2], event: m[3], payload: m[4] } : m;
    });
  }

  async waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map(String))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  reply(ref: string) {
    return this.waitFor(`reply to ${ref}`, () => this.messages().find((m) => m.event === "phx_reply" && m.ref === ref));
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}
