/**
 * The demo `npm start` runs once the stack is up: a small orders API on this machine,
 * a demo user, an http-json connection to that API made through sync-api, one sync
 * triggered through sync-api, and a progress bar drawn from the job's Realtime events.
 * Everything goes through the same paths a real app uses.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { ANON_KEY, signUserToken } from "./keys.ts";

export const DEMO_USER = { id: "00000000-0000-4000-8000-00000000d3e0", email: "demo@tributary.local" };
const ORDERS = 240;
const PAGE_SIZE = 20;

/** A paginated JSON API of orders, slow enough for the progress bar to be seen. */
export function serveDemoApi() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    await new Promise((r) => setTimeout(r, 150));
    const first = (page - 1) * PAGE_SIZE;
    const orders = Array.from({ length: Math.max(0, Math.min(PAGE_SIZE, ORDERS - first)) }, (_, i) => ({
      order_id: `ord_${String(first + i + 1).padStart(4, "0")}`,
      amount: Math.round(((first + i) * 7.31) % 250 * 100) / 100,
      currency: "EUR",
    }));
    return Response.json({
      orders,
      meta: { total: ORDERS, next: first + PAGE_SIZE < ORDERS ? `/orders?page=${page + 1}` : null },
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/orders?page=1`, close: () => server.shutdown() };
}

function bar(percent: number, width = 30) {
  const filled = Math.round((percent / 100) * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${percent.toFixed(0).padStart(3)}%`;
}

async function invoke(client: SupabaseClient, path: string, body?: unknown, method: "GET" | "POST" = "POST") {
  const { data, error } = await client.functions.invoke(`sync-api/${path}`, { method, body: body as never });
  if (error) {
    const detail = "context" in error ? await (error.context as Response).text() : String(error);
    throw new Error(`sync-api/${path}: ${detail}`);
  }
  return data;
}

/** Runs the demo sync against the stack at `stackUrl`, reading from the orders API at `ordersUrl`. */
export async function runDemo(stackUrl: string, sql: postgres.Sql, ordersUrl: string) {
  await sql`
    insert into auth.users (id, email) values (${DEMO_USER.id}, ${DEMO_USER.email})
    on conflict (id) do nothing
  `;
  const token = await signUserToken(DEMO_USER);
  const client = createClient(stackUrl, ANON_KEY, { accessToken: () => Promise.resolve(token) });
  try {
    const existing = await invoke(client, "connections", undefined, "GET");
    const account = { url: ordersUrl, records_path: "orders", id_field: "order_id", next_path: "meta.next", total_path: "meta.total" };
    let connection = existing.connections.find((c: { label: string }) => c.label === "Demo orders");
    if (connection) {
      await sql`update sync.connections set account = ${sql.json(account)} where id = ${connection.id}`;
    } else {
      connection = await invoke(client, "connections", { provider: "http-json", label: "Demo orders", account });
    }

    const finished = new Promise<{ status: string; error?: string; records?: number }>((resolve) => {
      let jobId: string | undefined;
      const early: Record<string, unknown>[] = [];
      const render = (p: Record<string, unknown>) => {
        if (p.job_id !== jobId) return;
        const progress = p.progress as { percent?: number; message?: string };
        const line = `  ${bar(Number(progress.percent ?? 0))}  ${p.status}  ${progress.message ?? ""}`;
        Deno.stdout.isTerminal() ? Deno.stdout.writeSync(new TextEncoder().encode(`\r${line.padEnd(90)}`)) : console.log(line);
        if (["succeeded", "failed", "cancelled"].includes(String(p.status))) {
          resolve({ status: String(p.status), error: p.error as string, records: (p.stats as { records?: number })?.records });
        }
      };
      client.channel(`sync:user:${DEMO_USER.id}`, { config: { private: true } })
        .on("broadcast", { event: "progress" }, ({ payload }) => (jobId ? render(payload) : early.push(payload)))
        .subscribe(async (status) => {
          if (status !== "SUBSCRIBED" || jobId) return;
          console.log(`\nDemo: syncing ${ORDERS} orders from a local API into synced.records, as ${DEMO_USER.email}`);
          const job = await invoke(client, "jobs", { connection_id: connection.id }).catch((e) => ({ error: e }));
          if ("error" in job) return resolve({ status: "skipped", error: String(job.error) });
          jobId = job.job_id;
          early.splice(0).forEach(render);
        });
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      finished,
      new Promise<{ status: string; error?: string; records?: number }>((r) => {
        timer = setTimeout(() => r({ status: "timed out" }), 60_000);
      }),
    ]);
    clearTimeout(timer);
    if (Deno.stdout.isTerminal()) console.log();
    return outcome;
  } finally {
    await client.removeAllChannels();
  }
}

export function reportDemo(outcome: { status: string; error?: string; records?: number }) {
  if (outcome.status === "succeeded") {
    console.log(`Demo sync succeeded: ${outcome.records} orders are in synced.records.\n`);
  } else {
    console.log(`Demo sync ${outcome.status}${outcome.error ? `: ${outcome.error}` : ""}\n`);
  }
}
