/**
 * Carries committed rows of realtime.messages to the Realtime server, the way hosted
 * Realtime does: by logical replication of the `tributary_realtime` publication
 * (sql/local/40_realtime.sql), on a temporary slot that disappears with the stack.
 *
 * Logical decoding streams only committed transactions, in commit order, so handing
 * each insert to the server as it arrives keeps that order on every socket, and a
 * rolled-back broadcast never appears.
 */
import postgres, { type Sql } from "postgres";
import type { RealtimeServer, StoredBroadcast } from "./server.ts";

type MessageRow = Partial<StoredBroadcast> & { extension?: string };

const APPLICATION_NAME = "tributary-realtime";

/** How a lost or refused Postgres connection shows up in postgres.js. */
const CONNECTION_LOST = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "57P01", "57P03"]);

export function relayDatabaseBroadcasts(dbUrl: string, sql: Sql, server: RealtimeServer) {
  const subscribe = () => {
    const replication = postgres(dbUrl, {
      publications: "tributary_realtime",
      onnotice: () => {},
      connection: { application_name: APPLICATION_NAME },
    });
    const subscribed = replication.subscribe("insert:realtime.messages", (row: MessageRow | null) => {
      // The rows Realtime's reader skips: authorization probes and anything incomplete.
      if (!row || row.extension !== "broadcast" || !row.event || row.payload == null || row.private == null) return;
      server.deliver({ id: row.id!, topic: row.topic!, event: row.event, payload: row.payload, private: row.private });
    });
    return { replication, subscribed };
  };
  let current = subscribe();
  let stopping = false;

  // postgres.js re-subscribes by itself when the replication connection drops, but if
  // Postgres is still down or just back (a restart, a failover), that retry fails
  // (refused, or its new temporary slot already gone) by rejecting a promise nobody
  // holds, which would kill this process, and it is not tried again. So such rejections
  // are let go, and a watchdog starts a fresh subscription whenever no walsender of ours
  // is streaming. What was sent in the gap is not replayed, as with hosted Realtime's
  // reconnects; clients catch up by reading.
  const letGo = (e: PromiseRejectionEvent) => {
    const reason = e.reason as { code?: string; name?: string; message?: string } | null;
    if (reason?.name === "PostgresError" || (reason?.code && CONNECTION_LOST.has(reason.code))) {
      e.preventDefault();
      console.error(`[realtime] replication interrupted (${reason.code}: ${reason.message}); the watchdog reconnects`);
    }
  };
  globalThis.addEventListener("unhandledrejection", letGo);
  let missing = 0;
  const watchdog = setInterval(async () => {
    try {
      const [{ streaming }] = await sql`
        select exists (select from pg_stat_replication where application_name = ${APPLICATION_NAME}) as streaming
      `;
      missing = streaming ? 0 : missing + 1;
      if (missing >= 2 && !stopping) {
        missing = 0;
        const old = current;
        current = subscribe();
        current.subscribed.catch(() => {});
        await old.replication.end({ timeout: 1 }).catch(() => {});
      }
    } catch { /* Postgres is down: check again in a second */ }
  }, 1000);

  // Hosted Realtime drops message partitions after a few days; so do we.
  const sweep = setInterval(() => {
    sql`delete from realtime.messages where inserted_at < now() - interval '3 days'`.catch(() => {});
  }, 60 * 60 * 1000);

  return {
    ready: current.subscribed.then(() => {}),
    async stop() {
      stopping = true;
      clearInterval(watchdog);
      clearInterval(sweep);
      await current.replication.end({ timeout: 2 }).catch(() => {});
      globalThis.removeEventListener("unhandledrejection", letGo);
    },
  };
}
