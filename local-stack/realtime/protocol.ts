/**
 * Phoenix channel framing as @supabase/realtime-js speaks it.
 *
 *   vsn 1.0.0  text frames, JSON objects  {topic, event, payload, ref, join_ref?}
 *   vsn 2.0.0  text frames, JSON arrays   [join_ref, ref, topic, event, payload]
 *              binary frames for broadcasts:
 *                kind 3 (client -> server, user broadcast push):
 *                  3, joinRefLen, refLen, topicLen, eventLen, metaLen, encoding,
 *                  joinRef, ref, topic, event, meta(JSON), payload
 *                kind 4 (server -> client, broadcast):
 *                  4, topicLen, eventLen, metaLen, encoding, topic, event, meta(JSON), payload
 *              encoding 0 = raw bytes, 1 = JSON.
 *
 * Decoding never throws: a malformed frame becomes `null` and the caller drops it.
 */

export type Vsn = "1.0.0" | "2.0.0";

export interface Message {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** A broadcast on its way to a client: what the serializer turns into a frame. */
export interface Broadcast {
  topic: string; // wire topic, "realtime:<name>"
  event: string; // the user's event name
  payload: unknown | Uint8Array;
  meta?: Record<string, unknown>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const ENCODING_BINARY = 0;
const ENCODING_JSON = 1;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const refOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function decode(vsn: Vsn, frame: string | ArrayBuffer): Message | null {
  try {
    if (typeof frame !== "string") return vsn === "2.0.0" ? decodeBinary(new Uint8Array(frame)) : null;
    const parsed: unknown = JSON.parse(frame);
    if (vsn === "2.0.0") {
      if (!Array.isArray(parsed) || parsed.length !== 5) return null;
      const [join_ref, ref, topic, event, payload] = parsed;
      if (typeof topic !== "string" || typeof event !== "string") return null;
      return { join_ref: refOrNull(join_ref), ref: refOrNull(ref), topic, event, payload };
    }
    if (!isObject(parsed) || typeof parsed.topic !== "string" || typeof parsed.event !== "string") return null;
    return {
      join_ref: refOrNull(parsed.join_ref),
      ref: refOrNull(parsed.ref),
      topic: parsed.topic,
      event: parsed.event,
      payload: parsed.payload,
    };
  } catch {
    return null;
  }
}

/** Kind 3: a user's broadcast push, decoded into the same shape as a JSON `broadcast` push. */
function decodeBinary(bytes: Uint8Array): Message | null {
  if (bytes[0] !== KIND_USER_BROADCAST_PUSH || bytes.length < 7) return null;
  const [joinRefLen, refLen, topicLen, eventLen, metaLen, encoding] = bytes.subarray(1, 7);
  let offset = 7;
  const take = (n: number) => {
    if (offset + n > bytes.length) throw new RangeError("frame shorter than its header says");
    const part = bytes.subarray(offset, offset + n);
    offset += n;
    return part;
  };
  const joinRef = decoder.decode(take(joinRefLen));
  const ref = decoder.decode(take(refLen));
  const topic = decoder.decode(take(topicLen));
  const event = decoder.decode(take(eventLen));
  const metaText = decoder.decode(take(metaLen));
  const body = bytes.subarray(offset);
  const payload = encoding === ENCODING_JSON ? JSON.parse(decoder.decode(body)) : body.slice();
  const meta = metaText ? JSON.parse(metaText) : {};
  return {
    join_ref: joinRef || null,
    ref: ref || null,
    topic,
    event: "broadcast",
    payload: { ...(isObject(meta) ? meta : {}), type: "broadcast", event, payload },
  };
}

export function encodeReply(vsn: Vsn, m: Message): string {
  return vsn === "2.0.0"
    ? JSON.stringify([m.join_ref, m.ref, m.topic, m.event, m.payload])
    : JSON.stringify({ topic: m.topic, event: m.event, payload: m.payload, ref: m.ref, join_ref: m.join_ref });
}

/**
 * A broadcast frame. vsn 2.0.0 clients get the binary kind-4 frame (as Realtime's V2
 * serializer sends); vsn 1.0.0 clients get the JSON `broadcast` event.
 */
export function encodeBroadcast(vsn: Vsn, b: Broadcast): string | Uint8Array<ArrayBuffer> {
  if (vsn === "2.0.0") {
    const topic = encoder.encode(b.topic);
    const event = encoder.encode(b.event);
    const meta = encoder.encode(b.meta && Object.keys(b.meta).length ? JSON.stringify(b.meta) : "");
    const binary = b.payload instanceof Uint8Array;
    const body = binary ? b.payload as Uint8Array : encoder.encode(JSON.stringify(b.payload ?? null));
    if (topic.length > 255 || event.length > 255 || meta.length > 255) {
      // Too long for the one-byte length fields: fall back to a JSON frame.
      return encodeReply(vsn, jsonBroadcast(b));
    }
    const frame = new Uint8Array(5 + topic.length + event.length + meta.length + body.length);
    frame.set([KIND_USER_BROADCAST, topic.length, event.length, meta.length, binary ? ENCODING_BINARY : ENCODING_JSON]);
    let offset = 5;
    for (const part of [topic, event, meta, body]) {
      frame.set(part, offset);
      offset += part.length;
    }
    return frame;
  }
  return encodeReply(vsn, jsonBroadcast(b));
}

function jsonBroadcast(b: Broadcast): Message {
  const payload: Record<string, unknown> = { type: "broadcast", event: b.event, payload: b.payload };
  if (b.meta && Object.keys(b.meta).length) payload.meta = b.meta;
  return { join_ref: null, ref: null, topic: b.topic, event: "broadcast", payload };
}
