/**
 * Where a credential could leak, searched at once: every row of the sync, synced,
 * realtime (broadcast payloads) and net (pg_net's request and response tables) schemas,
 * and the function log. Vault is the one place a credential may be.
 */
import type postgres from "postgres";

export interface Leak {
  secret: string;
  where: string;
}

export async function findLeaks(sql: postgres.Sql, secrets: string[], logFile = Deno.env.get("TRIBUTARY_FUNCTION_LOG")): Promise<Leak[]> {
  if (secrets.length === 0) return [];
  const leaks: Leak[] = [];
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_tables
    where schemaname in ('sync', 'synced', 'realtime', 'net')
  `;
  for (const { name } of tables) {
    // One pass over the table for all the secrets: each row as text, searched for each.
    const found = await sql.unsafe<{ secret: string }[]>(
      `select distinct s as secret from ${name} t, unnest($1::text[]) s where strpos(t::text, s) > 0`,
      [secrets],
    );
    for (const { secret } of found) leaks.push({ secret, where: name });
  }
  const log = logFile ? await Deno.readTextFile(logFile).catch(() => "") : "";
  for (const secret of secrets) if (log.includes(secret)) leaks.push({ secret, where: "the function log" });
  return leaks;
}
