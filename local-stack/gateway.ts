/**
 * The API gateway on 127.0.0.1:54321, standing where Kong stands in `supabase start`:
 *
 *   /functions/v1/<name>[/path]   -> Edge runtime (edge-runtime/runtime.ts)
 *   /realtime/v1/websocket        -> Realtime (realtime/server.ts)
 *
 * Anything else gets Kong's JSON 404. Nothing here ever answers 5xx for a bad request.
 */
import type { EdgeRuntime } from "./edge-runtime/runtime.ts";
import type { RealtimeServer } from "./realtime/server.ts";

const FUNCTIONS = /^\/functions\/v1\/([^/?#]+)(\/[^?#]*)?$/;

export function gateway(edge: EdgeRuntime, realtime: RealtimeServer) {
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
    return Response.json(
      { message: "no Route matched with those values" },
      { status: 404, headers: { "access-control-allow-origin": "*" } },
    );
  };
}
