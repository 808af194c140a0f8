/**
 * A small paginated JSON API on this machine for the http-json provider: `pages` pages
 * of `perPage` records, each answered after `delayMs`, so a sync takes long enough to
 * watch. `account` is the http-json connection settings that read it.
 */
export function pagedApi(
  { pages, perPage, delayMs = 0 }: { pages: number; perPage: number; delayMs?: number },
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const items = Array.from(
      { length: perPage },
      (_, i) => ({ key: `p${page}-${i}`, value: page * 100 + i }),
    );
    return Response.json({
      items,
      meta: { total: pages * perPage, next: page < pages ? `/items?page=${page + 1}` : null },
    });
  });
  return {
    account: {
      url: `http://127.0.0.1:${server.addr.port}/items?page=1`,
      records_path: "items",
      id_field: "key",
      next_path: "meta.next",
      total_path: "meta.total",
    },
    close: () => server.shutdown(),
  };
}
