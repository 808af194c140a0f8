/**
 * Carries committed rows of realtime.messages to the Realtime server.
 *
 * The trigger in sql/local/40_realtime.sql NOTIFYs each broadcast row. Postgres hands
 * notifications to listeners only after commit and in commit order, so handling them
 * one after another, in arrival order, keeps that order on every socket, even when a
 * large message has to be read back from the table first.
 */
import type { Sql } from "postgres";
import type { RealtimeServer, StoredBroadcast } from "./server.ts";

type Notice = StoredBroadcast | { id: string; inserted_at: string; fetch: true };

export function relayDatabaseBroadcasts(sql: Sql, server: RealtimeServer) {
  let chain = Promise.resolve();
  let stopped = false;

  async function handle(raw: string) {
    const notice = JSON.parse(raw) as Notice;
    if ("fetch" in notice) {
      const [row] = await sql<StoredBroadcast[]>`
        select id, topic, event, payload, private from realtime.messages
        where id = ${notice.id} and inserted_at = ${notice.inserted_at}::timestamp
      `;
      if (row) server.deliver(row);
      return;
    }
    server.deliver(notice);
  }

  const listening = sql.listen("tributary_realtime", (raw) => {
    chain = chain.then(() => handle(raw)).catch((e) => {
      if (!stopped) console.error("[realtime] could not relay a broadcast:", e);
    });
  });

  // Hosted Realtime drops message partitions after a few days; so do we.
  const sweep = setInterval(() => {
    sql`delete from realtime.messages where inserted_at < now() - interval '3 days'`.catch(() => {});
  }, 60 * 60 * 1000);

  return {
    ready: listening.then(() => {}),
    async stop() {
      stopped = true;
      clearInterval(sweep);
      await (await listening).unlisten().catch(() => {});
      await chain;
    },
  };
}
