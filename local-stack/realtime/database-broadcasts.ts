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

export function relayDatabaseBroadcasts(dbUrl: string, sql: Sql, server: RealtimeServer) {
  const replication = postgres(dbUrl, {
    publications: "tributary_realtime",
    onnotice: () => {},
    connection: { application_name: "tributary-realtime" },
  });

  const subscribed = replication.subscribe("insert:realtime.messages", (row: MessageRow | null) => {
    // The rows Realtime's reader skips: authorization probes and anything incomplete.
    if (!row || row.extension !== "broadcast" || !row.event || row.payload == null || row.private == null) return;
    server.deliver({ id: row.id!, topic: row.topic!, event: row.event, payload: row.payload, private: row.private });
  });

  // Hosted Realtime drops message partitions after a few days; so do we.
  const sweep = setInterval(() => {
    sql`delete from realtime.messages where inserted_at < now() - interval '3 days'`.catch(() => {});
  }, 60 * 60 * 1000);

  return {
    ready: subscribed.then(() => {}),
    async stop() {
      clearInterval(sweep);
      await replication.end({ timeout: 2 }).catch(() => {});
    },
  };
}
