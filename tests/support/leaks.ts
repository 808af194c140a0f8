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

/**
 * Which of `secrets` occur in a text, in one pass over it: the secrets are indexed by
 * their first few characters, so the cost grows with the text, not with text × secrets
 * (the soak plants a thousand).
 */
function scanner(secrets: string[]) {
  const width = Math.min(12, ...secrets.map((s) => s.length));
  const byPrefix = new Map<string, string[]>();
  for (const s of secrets) byPrefix.set(s.slice(0, width), [...(byPrefix.get(s.slice(0, width)) ?? []), s]);
  return (text: string, found: Set<string>) => {
    for (let i = 0; i + width <= text.length; i++) {
      const candidates = byPrefix.get(text.slice(i, i + width));
      if (candidates) for (const s of candidates) if (text.startsWith(s, i)) found.add(s);
    }
  };
}

export async function findLeaks(sql: postgres.Sql, secrets: string[], logFile = Deno.env.get("TRIBUTARY_FUNCTION_LOG")): Promise<Leak[]> {
  secrets = secrets.filter((s) => s.length > 0);
  if (secrets.length === 0) return [];
  const scan = scanner(secrets);
  const leaks: Leak[] = [];
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_tables
    where schemaname in ('sync', 'synced', 'realtime', 'net')
  `;
  for (const { name } of tables) {
    // Each row as Postgres prints it, so a credential inside any column (jsonb included) is found.
    const found = new Set<string>();
    for await (const rows of sql.unsafe<{ r: string }[]>(`select t::text as r from ${name} t`).cursor(1000)) {
      for (const { r } of rows) scan(r, found);
    }
    for (const secret of found) leaks.push({ secret, where: name });
  }
  const log = logFile ? await Deno.readTextFile(logFile).catch(() => "") : "";
  const inLog = new Set<string>();
  scan(log, inLog);
  for (const secret of inLog) leaks.push({ secret, where: "the function log" });
  return leaks;
}
