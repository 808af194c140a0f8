/**
 * A generic paged JSON API, the kind the http-json provider (SPEC section 6) reads: a
 * tenant is an API key sent in `x-api-key`; `GET /items?page=N` answers
 * `{items: [{id, value}], meta: {total, next}}` with `next` the absolute URL of the
 * next page, or null on the last. It speaks plain HTTP errors: 429 with Retry-After,
 * 503, and 401 for a missing, unknown or revoked key.
 */
import { type FakeUpstream, hang, hashInt, requestLog, sleep, Tenants } from "./fake.ts";

interface RecordsData {
  records: { id: string; value: number }[];
  pageSize: number;
}

const unauthorized = () => Response.json({ error: "invalid or revoked API key" }, { status: 401 });

export class RecordsApiFake implements FakeUpstream {
  readonly name = "records-api";
  #tenants = new Tenants<RecordsData>("records-api");

  tenant(key: string) {
    return this.#tenants.find(key);
  }

  /** `{records, page_size?}`; the tenant id is the API key. */
  seed(key: string, spec: Record<string, any>) {
    this.#tenants.set(key, { records: [], pageSize: spec.page_size ?? 25 });
    return this.update(key, { records: spec.records ?? 10 });
  }

  /** `{records: n}`: n more records, after the others. */
  update(key: string, change: Record<string, any>) {
    const data = this.#tenants.get(key).data;
    const first = data.records.length;
    for (let i = first; i < first + (change.records ?? 1); i++) {
      data.records.push({ id: `r${i}`, value: hashInt(`${key}/${i}`, 100_000) });
    }
    return { records: data.records.length };
  }

  truth(key: string) {
    return this.#tenants.get(key).data.records;
  }

  async handle(req: Request, path: string): Promise<Response> {
    const tenant = this.#tenants.find(req.headers.get("x-api-key"));
    if (!tenant || tenant.revoked) return unauthorized();
    tenant.requests.push(requestLog(req, path));
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      return Response.json({ error: "slow down" }, { status: 429, headers: { "retry-after": String(fault.retry_after_s ?? 1) } });
    }
    if (fault?.kind === "server-error") return Response.json({ error: "unavailable" }, { status: fault.status ?? 503 });
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "revoked" || fault?.kind === "expired-token") return unauthorized();

    if (path !== "/items") return Response.json({ error: `no route ${path}` }, { status: 404 });
    const url = new URL(req.url);
    const page = Number(url.searchParams.get("page") ?? "1");
    if (!Number.isInteger(page) || page < 1) return Response.json({ error: "page must be a positive integer" }, { status: 400 });
    const { records, pageSize } = tenant.data;
    const items = records.slice((page - 1) * pageSize, page * pageSize);
    let next: string | null = null;
    if (page * pageSize < records.length) {
      url.searchParams.set("page", String(page + 1));
      next = url.toString();
    }
    return Response.json({ items, meta: { total: records.length, next } });
  }
}
