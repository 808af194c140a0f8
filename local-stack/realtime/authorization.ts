/**
 * Private-channel authorization, done the way Supabase Realtime does it: RLS on
 * realtime.messages decides, probed inside a transaction that is always rolled back.
 *
 *   1. As the connection's own (privileged) role, insert a probe row for the topic.
 *   2. Switch to the token's role and set realtime.topic and the JWT claims locally.
 *   3. Read: can that role SELECT the probe row back?
 *   4. Write: under a savepoint, can that role INSERT a row for the topic?
 *   5. Roll everything back.
 *
 * So the same policies that guard a hosted project guard the local one.
 */
import type { Sql, TransactionSql } from "postgres";
import type { Claims } from "../keys.ts";

export interface Permissions {
  read: boolean;
  write: boolean;
}

class Rollback extends Error {}

async function actAs(tx: TransactionSql, topic: string, claims: Claims) {
  const role = String(claims.role ?? "anon");
  await tx`
    select
      set_config('role', ${role}, true),
      set_config('realtime.topic', ${topic}, true),
      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
      set_config('request.jwt.claim.sub', ${String(claims.sub ?? "")}, true),
      set_config('request.jwt.claim.role', ${role}, true),
      set_config('request.headers', '{}', true)
  `;
}

export async function authorize(sql: Sql, topic: string, claims: Claims): Promise<Permissions> {
  const result: Permissions = { read: false, write: false };
  try {
    await sql.begin(async (tx) => {
      const probe = crypto.randomUUID();
      await tx`insert into realtime.messages (id, topic, extension) values (${probe}, ${topic}, 'broadcast')`;
      await actAs(tx, topic, claims);
      result.read = (await tx`select id from realtime.messages where id = ${probe}`).length > 0;
      try {
        await tx.savepoint((sp) => sp`insert into realtime.messages (topic, extension) values (${topic}, 'broadcast')`);
        result.write = true;
      } catch {
        // insufficient_privilege (RLS said no) or any policy error: no write.
        result.write = false;
      }
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) {
      // An unknown role, a policy that raises: Realtime treats both as "not allowed".
      return { read: false, write: false };
    }
  }
  return result;
}
