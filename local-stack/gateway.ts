/**
 * The API gateway on 127.0.0.1:54321, standing where Kong stands in `supabase start`:
 *
 *   /functions/v1/<name>[/path]   -> Edge runtime (edge-runtime/runtime.ts)
 *   /realtime/v1/websocket        -> Realtime (realtime/server.ts)
 *   /dashboard/                   -> the dashboard's static build (dashboard/build.ts)
 *
 * Anything else gets Kong's JSON 404. Nothing here ever answers 5xx for a bad request.
 */
import type { EdgeRuntime } from "./edge-runtime/runtime.ts";
import type { RealtimeServer } from "./realtime/server.ts";
import { join } from "node:path";

const FUNCTIONS = /^\/functions\/v1\/([^/?#]+)(\/[^?#]*)?$/;

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
};

/** A file of the dashboard's build: flat names only, so no path leaves the folder. */
async function dashboardFile(dir: string, name: string): Promise<Response> {
  const file = name || "index.html";
  const type = CONTENT_TYPES[file.split(".").pop() ?? ""];
  if (!/^[\w.-]+$/.test(file) || file.startsWith(".") || !type) return notFound();
  try {
    return new Response(await Deno.readFile(join(dir, file)), { headers: { "content-type": type, "cache-control": "no-cache" } });
  } catch {
    return notFound();
  }
}

const notFound = () =>
  Response.json(
    { message: "no Route matched with those values" },
    { status: 404, headers: { "access-control-allow-origin": "*" } },
  );

/** `dashboard` builds the dashboard on first call and gives its folder. */
export function gateway(edge: EdgeRuntime, realtime: RealtimeServer, dashboard?: () => Promise<string>) {
  return async (req: Request): Promise<Response> => {
    const { pathname } = new URL(req.url);
    const fn = pathname.match(FUNCTIONS);
    if (fn) {
      let name: string;
      try {
        name = decodeURIComponent(fn[1]);
      } catch {
        name = "";
      }
      return await edge.handle(req, name, fn[2] ?? "");
    }
    if (pathname === "/realtime/v1/websocket" || pathname === "/realtime/v1/websocket/") {
      return await realtime.upgrade(req);
    }
    if (dashboard && (req.method === "GET" || req.method === "HEAD")) {
      if (pathname === "/dashboard") return Response.redirect(new URL("/dashboard/", req.url), 308);
      const file = pathname.match(/^\/dashboard\/([^/]*)$/);
      if (file) {
        let dir: string;
        try {
          dir = await dashboard();
        } catch (e) {
          return Response.json({ message: `the dashboard could not be built: ${(e as Error).message}` }, { status: 503 });
        }
        return await dashboardFile(dir, file[1]);
      }
    }
    return notFound();
  };
}
