/** The control API of the fake upstreams (tests/fakes/server.ts) that the test stack serves. */
import type { Fault, LoggedRequest } from "../fakes/fake.ts";

export const fakesUrl = Deno.env.get("TRIBUTARY_FAKES_URL") ?? "http://127.0.0.1:54329";

async function callAt(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/_control/${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`fake control ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** One tenant (an account, key or token) of one fake upstream (served at `base`, the test stack's by default). */
export function fake(name: string, tenant: string, base = fakesUrl) {
  const path = `${encodeURIComponent(name)}/${encodeURIComponent(tenant)}`;
  const call = (method: string, path: string, body?: unknown) => callAt(base, method, path, body);
  return {
    seed: <T = Record<string, unknown>>(spec: Record<string, unknown>): Promise<T> => call("PUT", path, spec),
    update: <T = Record<string, unknown>>(change: Record<string, unknown>): Promise<T> => call("POST", `${path}/update`, change),
    fault: (fault: Fault): Promise<void> => call("POST", `${path}/faults`, fault),
    pendingFaults: (): Promise<Fault[]> => call("GET", `${path}/faults`),
    delay: (ms: number): Promise<void> => call("PUT", `${path}/delay`, { ms }),
    requests: (): Promise<LoggedRequest[]> => call("GET", `${path}/requests`),
    truth: <T = Record<string, unknown>[]>(): Promise<T> => call("GET", `${path}/truth`),
  };
}
