/**
 * Runs one Edge Function in its own Deno process: the local stand-in for an
 * edge-runtime user worker. The gateway (runtime.ts) spawns it with the function's
 * environment and talks to it over three channels:
 *
 *   - HTTP on an ephemeral 127.0.0.1 port, announced once the module has booted;
 *   - stdout lines starting with \x1e for control messages (everything else is logs);
 *   - stdin lines: {"type":"unload","reason"} to stop now, {"type":"drain"} to stop
 *     once idle. When stdin closes (the stack died) the worker exits at once, so a
 *     killed stack never leaves workers behind.
 *
 * Memory is counted as edge-runtime counts a user worker's: the isolate's used heap
 * plus its external memory (`WorkerMemoryUsed {total, heap, external}`), not the
 * resident set of this Deno process, most of which is the runtime itself. Past the
 * limit the worker stops with reason "memory", as hosted. CPU is watched from outside,
 * by the runtime (a CPU-bound loop would starve a timer in here).
 *
 * Inside, the function sees the platform it would see hosted: `Deno.serve(handler)`
 * registers its handler, `EdgeRuntime.waitUntil(promise)` keeps background work alive,
 * and `beforeunload` fires with `detail.reason` before the worker shuts down.
 */
import { pathToFileURL } from "node:url";
import { mainThreadCpuMs } from "./cpu.ts";

const CONTROL = "\x1e";
const entrypoint = Deno.env.get("TRIBUTARY_HOST_ENTRYPOINT")!;
const wallClockMs = Number(Deno.env.get("TRIBUTARY_HOST_WALL_CLOCK_MS") ?? 150_000);
const graceMs = Number(Deno.env.get("TRIBUTARY_HOST_GRACE_MS") ?? 1_000);
const memoryLimit = Number(Deno.env.get("TRIBUTARY_HOST_MEMORY_MB") ?? 256) * 2 ** 20;
for (const name of ["TRIBUTARY_HOST_ENTRYPOINT", "TRIBUTARY_HOST_WALL_CLOCK_MS", "TRIBUTARY_HOST_GRACE_MS", "TRIBUTARY_HOST_MEMORY_MB"]) {
  Deno.env.delete(name);
}

function control(message: Record<string, unknown>) {
  console.log(CONTROL + JSON.stringify(message));
}

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
let handler: Handler | undefined;
const realServe = Deno.serve.bind(Deno);

// The function's Deno.serve registers a handler; the port is ours to choose.
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (...args: unknown[]) => {
  const fn = args.find((a) => typeof a === "function") ??
    (args[0] as { handler?: Handler } | undefined)?.handler;
  if (typeof fn !== "function") throw new TypeError("Deno.serve needs a handler");
  handler = fn as Handler;
  return {
    finished: new Promise(() => {}),
    addr: { transport: "tcp", hostname: "0.0.0.0", port: 8000 },
    ref() {},
    unref() {},
    shutdown: () => Promise.resolve(),
  };
};

const background = new Set<Promise<unknown>>();
let inFlight = 0;
let draining = false;
let stopping = false;

Object.defineProperty(globalThis, "EdgeRuntime", {
  value: Object.freeze({
    waitUntil<T>(promise: Promise<T>): Promise<T> {
      const tracked = Promise.resolve(promise)
        .catch((e) => console.error("EdgeRuntime.waitUntil task failed:", e))
        .finally(() => {
          background.delete(tracked);
          exitIfIdle();
        });
      background.add(tracked);
      return promise;
    },
  }),
});

/**
 * Samples the isolate's memory every 10 ms and reports each new peak (in steps of at
 * least 1 MiB) to the gateway. A sample can miss the top of a climb that a collection
 * cuts short, so the peak reported is a lower bound within one sampling interval.
 */
let peak = { total: 0, heap: 0, external: 0 };
let reportedPeak = 0;
const memorySampler = setInterval(() => {
  const { heapUsed, external } = Deno.memoryUsage();
  const total = heapUsed + external;
  if (total > peak.total) {
    peak = { total, heap: heapUsed, external };
    if (total - reportedPeak >= 2 ** 20) {
      reportedPeak = total;
      control({ type: "memory", ...peak });
    }
  }
  if (total > memoryLimit) void stop("memory");
}, 10);

async function stop(reason: string) {
  if (stopping) return;
  stopping = true;
  clearInterval(memorySampler);
  control({ type: "exit", reason, memory_used: peak });
  dispatchEvent(new CustomEvent("beforeunload", { detail: { reason } }));
  // beforeunload handlers may start async work (a last checkpoint): give it a moment.
  await Promise.race([Promise.allSettled([...background]), new Promise((r) => setTimeout(r, graceMs))]);
  Deno.exit(0);
}

function exitIfIdle() {
  if (draining && inFlight === 0 && background.size === 0) void stop("early_drop");
}

async function readControl() {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of Deno.stdin.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        const message = JSON.parse(line);
        if (message.type === "unload") void stop(String(message.reason ?? "termination"));
        if (message.type === "drain") {
          draining = true;
          exitIfIdle();
        }
      } catch { /* not a control line */ }
    }
  }
  // The stack is gone: nobody can reach this worker any more.
  Deno.exit(0);
}

// The runtime counts the worker's CPU from here: the function's own loading on.
control({ type: "booting", cpu_ms: mainThreadCpuMs(Deno.pid) });
try {
  await import(pathToFileURL(entrypoint).href);
  if (!handler) throw new Error(`${entrypoint} never called Deno.serve(handler)`);
} catch (e) {
  console.error(e);
  control({ type: "boot_error", message: String(e instanceof Error ? e.message : e) });
  Deno.exit(1);
}

void readControl();
setTimeout(() => void stop("wall_clock"), wallClockMs);

realServe({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => control({ type: "ready", port }),
}, async (req, info) => {
  inFlight++;
  try {
    return await handler!(req, info);
  } catch (e) {
    console.error(e);
    return Response.json(
      { code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" },
      { status: 500 },
    );
  } finally {
    inFlight--;
    exitIfIdle();
  }
});
