/**
 * The pg_net background worker, as a process of the local stack.
 *
 * pg_net's worker takes queued requests oldest first, sends them concurrently, writes
 * each outcome to net._http_response and never retries. This one does the same. It is
 * woken by the NOTIFY that net.http_* sends (delivered only after commit), and polls
 * as a fallback in case a notification is missed while it reconnects.
 *
 * Outcomes follow pg_net's semantics:
 *   - any HTTP status, 4xx and 5xx included, is a delivery (error_msg null);
 *   - a transport failure leaves status_code null and puts curl's wording in error_msg;
 *   - a timeout sets timed_out and error_msg 'Timeout of N ms reached. Total time: ...'.
 */
import type { Sql } from "postgres";

interface QueuedRequest {
  id: string; // bigint
  method: "GET" | "POST" | "DELETE";
  url: string;
  headers: Record<string, string | null> | null;
  body: Uint8Array | null;
  timeout_milliseconds: number;
}

interface Outcome {
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

export interface NetWorkerOptions {
  /** pg_net.batch_size: at most this many requests in flight. */
  batchSize?: number;
  pollIntervalMs?: number;
  /** Expired responses (older than pg_net.ttl) are deleted at most this often. */
  ttlSweepIntervalMs?: number;
}

/** Translates a fetch failure into the curl error text pg_net would store. */
function curlWording(error: unknown): string {
  const text = String(error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : error);
  if (/Connection refused|tcp connect error|ECONNREFUSED/i.test(text)) return "Couldn't connect to server";
  if (/dns error|failed to lookup|Name or service not known|ENOTFOUND/i.test(text)) {
    return "Couldn't resolve host name";
  }
  if (/connection closed before message completed|empty reply|connection reset/i.test(text)) {
    return "Server returned nothing (no headers, no data)";
  }
  if (/Invalid URL|invalid url|relative URL/i.test(text)) return "URL using bad/illegal format or missing URL";
  return text.trim();
}

async function send(request: QueuedRequest): Promise<Outcome> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value !== null && value !== undefined) headers.set(name, String(value));
  }
  const started = performance.now();
  const timeout = AbortSignal.timeout(request.timeout_milliseconds);
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.body && request.body.length > 0 ? new Uint8Array(request.body) : undefined,
      redirect: "manual", // curl, as pg_net configures it, does not follow redirects
      signal: timeout,
    });
    const content = await response.text();
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => (responseHeaders[name] = value));
    return {
      status_code: response.status,
      content_type: response.headers.get("content-type"),
      headers: responseHeaders,
      content: content === "" ? null : content,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    if (timeout.aborted) {
      const total = (performance.now() - started).toFixed(6);
      return {
        status_code: null,
        content_type: null,
        headers: null,
        content: null,
        timed_out: true,
        // We cannot split the phases as curl does, so the total is reported as request time.
        error_msg: `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${total} ms ` +
          `(DNS time: 0.000000 ms, TCP/SSL handshake time: 0.000000 ms, HTTP Request/Response time: ${total} ms)`,
      };
    }
    return {
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: false,
      error_msg: curlWording(error),
    };
  }
}

export function startNetWorker(sql: Sql, options: NetWorkerOptions = {}) {
  const batchSize = options.batchSize ?? 200;
  let inFlight = 0;
  let draining = false;
  let again = false;
  let stopped = false;
  const pending = new Set<Promise<void>>();

  async function deliver(request: QueuedRequest) {
    const outcome = await send(request);
    await sql`
      insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
      values (${request.id}, ${outcome.status_code}, ${outcome.content_type}, ${sql.json(outcome.headers)},
              ${outcome.content}, ${outcome.timed_out}, ${outcome.error_msg})
    `;
  }

  /** Claims as many queued requests as there are free slots and starts them. */
  async function drain() {
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    try {
      do {
        again = false;
        const room = batchSize - inFlight;
        if (room <= 0 || stopped) break;
        // Deleting on claim, as pg_net does: a request is sent at most once.
        const claimed = await sql<QueuedRequest[]>`
          delete from net.http_request_queue
          where id in (
            select id from net.http_request_queue order by id limit ${room} for update skip locked
          )
          returning id, method, url, headers, body, timeout_milliseconds
        `;
        claimed.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
        for (const request of claimed) {
          inFlight++;
          const job = deliver(request)
            .catch((e) => console.error(`[net] could not record response ${request.id}:`, e))
            .finally(() => {
              inFlight--;
              pending.delete(job);
              if (!stopped) void drain();
            });
          pending.add(job);
        }
        if (claimed.length === room) again = true;
      } while (again);
      await sweepExpired();
    } catch (e) {
      if (!stopped) console.error("[net] queue read failed:", e);
    } finally {
      draining = false;
    }
  }

  let lastSweep = 0;
  /** pg_net deletes expired responses on each pass of its loop; so do we, throttled. */
  async function sweepExpired() {
    if (performance.now() - lastSweep < (options.ttlSweepIntervalMs ?? 1000)) return;
    lastSweep = performance.now();
    await sql`
      with expired as (
        select ctid from net._http_response
        where created < now() - coalesce(nullif(current_setting('pg_net.ttl', true), ''), '6 hours')::interval
        order by created
        limit ${batchSize}
      )
      delete from net._http_response r using expired where r.ctid = expired.ctid
    `.catch((e) => !stopped && console.error("[net] ttl sweep failed:", e));
  }

  const listening = sql.listen("tributary_net_wake", () => void drain(), () => void drain());
  const poll = setInterval(() => void drain(), options.pollIntervalMs ?? 1000);

  return {
    ready: listening.then(() => {}),
    async stop() {
      stopped = true;
      clearInterval(poll);
      await (await listening).unlisten().catch(() => {});
      await Promise.allSettled([...pending]);
    },
  };
}
