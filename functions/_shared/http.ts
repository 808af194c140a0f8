/**
 * HTTP helpers every function shares: CORS (functions answer their own preflights on
 * Supabase), the error shape of the public contract, `{error: {code, message}}`, and
 * request bodies validated with zod into 400s that name the field.
 */
import type { z } from "zod";
export const corsHeaders: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
  "access-control-allow-methods": "GET, POST, PATCH, DELETE, OPTIONS",
};

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...corsHeaders, ...headers } });
}

export function error(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message } }, status, headers);
}

export function preflight(): Response {
  return new Response("ok", { headers: corsHeaders });
}

/** An answer other than success, thrown from anywhere in a route. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** "field.path: what is wrong; ..." — prefixed by `prefix.` when given (say, "account"). */
export function zodIssues(e: z.ZodError, prefix?: string): string {
  return e.issues
    .map((i) => `${[prefix, ...i.path].filter((p) => p !== undefined && p !== "").join(".") || "body"}: ${i.message}`)
    .join("; ");
}

/** Validates with `schema`, or throws a 400 that names every bad field. */
/**
 * Where `value` holds a NUL character (in a string or a key), which Postgres text cannot
 * store. Iterative: a body nested 50,000 deep must not overflow the stack.
 */
function nulAt(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes("\u0000")) return path || "the input";
    } else if (v !== null && typeof v === "object") {
      for (const [key, inner] of Object.entries(v)) {
        const here = path ? `${path}.${key}` : key;
        if (key.includes("\u0000")) return here;
        stack.push([inner, here]);
      }
    }
  }
  return null;
}

export function validate<T>(schema: z.ZodType<T>, value: unknown, prefix?: string): T {
  const nul = nulAt(value, prefix ?? "");
  if (nul) throw new HttpError(400, "invalid_request", `${nul}: text may not contain the NUL character (\\u0000)`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, "invalid_request", zodIssues(parsed.error, prefix));
  return parsed.data;
}

/** The request's JSON body (an empty body counts as `{}`), validated with `schema`. */
export async function readJson<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  const text = await req.text();
  let raw: unknown;
  try {
    raw = text.trim() ? JSON.parse(text) : {};
  } catch {
    throw new HttpError(400, "invalid_json", "The request body must be JSON.");
  }
  return validate(schema, raw);
}

/**
 * Serves a function's routes: answers preflights, turns an HttpError into its answer,
 * and anything else into a logged 500 that says nothing about the cause.
 */
export function serveRoutes(name: string, route: (req: Request) => Promise<Response>) {
  Deno.serve(async (req) => {
    if (req.method === "OPTIONS") return preflight();
    try {
      return await route(req);
    } catch (e) {
      if (e instanceof HttpError) return error(e.status, e.code, e.message, e.headers);
      console.error(JSON.stringify({ level: "error", msg: `${name} failed`, error: String(e) }));
      return error(500, "internal", "Something went wrong on our side; try again.");
    }
  });
}
