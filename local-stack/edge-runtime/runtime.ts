/**
 * The local Edge runtime: routes /functions/v1/<name>[/path] to a worker process per
 * function (worker-host.ts), the way Supabase's edge-runtime routes to user workers.
 *
 *   - verify_jwt (default true) is checked here, before any worker starts: a missing or
 *     bad token is answered 401 as the platform does. CORS preflights (OPTIONS) pass
 *     without a token so browsers can ask first; answering them is the function's job,
 *     as on hosted Supabase.
 *   - A worker has a wall-clock budget from its start. It fires `beforeunload` and
 *     exits when the budget is spent; requests still in flight get 546 WORKER_LIMIT.
 *     New requests go to a fresh worker once the current one is past half its budget.
 *   - A worker that fails to import its module answers 503 BOOT_ERROR.
 *   - Memory is the isolate's used heap plus external memory, as edge-runtime counts
 *     it; a worker past `memoryMb` stops with reason "memory". Each function's peak is
 *     kept for benchmarks (`memoryPeak`).
 *   - CPU is counted per worker, over its life, as edge-runtime's per-worker policy
 *     does (soft 1 s, hard 2 s hosted). Past the soft limit the worker retires: it
 *     finishes what it has, and new requests boot a fresh worker. Past the hard limit
 *     it is terminated at once, with no beforeunload, and requests in flight get 546.
 */
import { verifyJwt } from "../keys.ts";
import { mainThreadCpuMs } from "./cpu.ts";
import { type FunctionCatalog, type FunctionSpec } from "./functions-config.ts";

const CONTROL = "\x1e";
const WORKER_HOST = new URL("./worker-host.ts", import.meta.url).pathname;

export interface EdgeRuntimeOptions {
  catalog: FunctionCatalog;
  /** The function's environment: platform defaults plus secrets, read at each worker start. */
  env: () => Record<string, string>;
  denoConfig: string;
  wallClockMs: number;
  /** How long beforeunload handlers get before the worker is killed. */
  graceMs: number;
  memoryMb: number;
  /** CPU a worker may use before it retires, and before it is terminated (0: no limit). */
  cpuSoftLimitMs: number;
  cpuHardLimitMs: number;
  log: (functionName: string, line: string) => void;
}

const cors = { "access-control-allow-origin": "*" };
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { ...cors, ...headers } });

export const errors = {
  notFound: () => json(404, { code: "NOT_FOUND", message: "Requested function was not found" }),
  missingAuth: () => json(401, { msg: "Error: Missing authorization header" }),
  invalidJwt: () => json(401, { msg: "Invalid JWT" }),
  bootError: () => json(503, { code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" }),
  workerLimit: () =>
    json(546, {
      code: "WORKER_LIMIT",
      message: "Worker failed to respond due to a resource limit (please check logs)",
    }, { "sb-error-code": "WORKER_LIMIT" }),
  workerError: () => json(500, { code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" }),
};

type ExitReason = "wall_clock" | "memory" | "cpu" | "early_drop" | "termination" | "crash" | "boot_error";

/** edge-runtime's WorkerMemoryUsed, in bytes: total = heap + external. */
export interface WorkerMemoryUsed {
  total: number;
  heap: number;
  external: number;
}

class Worker {
  readonly startedAt = performance.now();
  readonly ready: Promise<number>;
  readonly exited: Promise<ExitReason>;
  exitReason: ExitReason = "crash";
  retiring = false;
  #process: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #killTimer: ReturnType<typeof setTimeout>;
  #cpuSampler: ReturnType<typeof setInterval> | undefined;

  readonly wallClockMs: number;

  constructor(
    readonly spec: FunctionSpec,
    options: EdgeRuntimeOptions,
    onMemory: (used: WorkerMemoryUsed) => void,
  ) {
    this.wallClockMs = spec.wallClockMs ?? options.wallClockMs;
    this.#process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        "--quiet",
        `--config=${options.denoConfig}`,
        `--v8-flags=--max-old-space-size=${options.memoryMb}`,
        WORKER_HOST,
      ],
      clearEnv: true,
      env: {
        ...options.env(),
        TRIBUTARY_HOST_ENTRYPOINT: spec.entrypoint,
        TRIBUTARY_HOST_WALL_CLOCK_MS: String(this.wallClockMs),
        TRIBUTARY_HOST_GRACE_MS: String(options.graceMs),
        TRIBUTARY_HOST_MEMORY_MB: String(options.memoryMb),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#process.stdin.getWriter();
    // Backstop for a worker too busy to stop itself (a CPU-bound loop never yields).
    this.#killTimer = setTimeout(() => {
      this.exitReason = "wall_clock";
      this.kill();
    }, this.wallClockMs + options.graceMs + 1000);

    let announce!: (port: number) => void;
    let fail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((announce = resolve), (fail = reject)));
    this.ready.catch(() => {});
    const onLine = (line: string) => {
      if (!line.startsWith(CONTROL)) return options.log(spec.name, line);
      try {
        const message = JSON.parse(line.slice(1));
        if (message.type === "ready") announce(message.port);
        if (message.type === "booting") this.#superviseCpu(options, message.cpu_ms);
        if (message.type === "boot_error") {
          this.exitReason = "boot_error";
          fail(new Error(message.message));
        }
        if (message.type === "memory") onMemory({ total: message.total, heap: message.heap, external: message.external });
        if (message.type === "exit") {
          this.exitReason = message.reason;
          if (message.reason === "memory") {
            options.log(spec.name, JSON.stringify({ event: "Shutdown", reason: "Memory", memory_used: message.memory_used }));
          }
        }
      } catch { /* a log line that happened to start with the marker */ }
    };
    const onErrLine = (line: string) => {
      if (/out of memory/i.test(line)) this.exitReason = "memory";
      options.log(spec.name, line);
    };
    const stdoutDone = pumpLines(this.#process.stdout, onLine);
    const stderrDone = pumpLines(this.#process.stderr, onErrLine);
    this.exited = this.#process.status.then(async () => {
      clearTimeout(this.#killTimer);
      clearInterval(this.#cpuSampler);
      await Promise.allSettled([stdoutDone, stderrDone]);
      fail(new Error(`worker exited (${this.exitReason})`));
      return this.exitReason;
    });
  }

  /**
   * Samples the worker's CPU from outside, so that a CPU-bound loop, which never lets
   * the worker's own timers run, is stopped all the same. Counted from the moment the
   * worker-host starts importing the function (`bootCpuMs`): module evaluation counts,
   * as it does hosted, but not the Deno CLI's own start-up, which hosted has no match for.
   */
  #superviseCpu(options: EdgeRuntimeOptions, bootCpuMs: number) {
    const { cpuSoftLimitMs: soft, cpuHardLimitMs: hard } = options;
    if (!(soft > 0 || hard > 0)) return;
    const pid = this.#process.pid;
    this.#cpuSampler = setInterval(() => {
      const used = mainThreadCpuMs(pid) - bootCpuMs;
      if (Number.isNaN(used)) return clearInterval(this.#cpuSampler);
      if (hard > 0 && used >= hard) {
        clearInterval(this.#cpuSampler);
        this.exitReason = "cpu";
        options.log(this.spec.name, JSON.stringify({ event: "Shutdown", reason: "CPUTime", cpu_time_used: Math.round(used) }));
        this.kill();
      } else if (soft > 0 && used >= soft && !this.retiring) {
        options.log(this.spec.name, JSON.stringify({ event: "Retire", reason: "CPUTime", cpu_time_used: Math.round(used) }));
        this.retire();
      }
    }, 20);
  }

  get age() {
    return performance.now() - this.startedAt;
  }

  #tell(message: Record<string, unknown>) {
    this.#stdin.write(new TextEncoder().encode(JSON.stringify(message) + "\n")).catch(() => {});
  }

  /**
   * Requests routed to this worker and not yet answered. Counted here, not only in the
   * worker: a request on its way over the loopback is one the worker cannot see yet, and
   * a worker told to drain then would exit under it. edge-runtime likewise drops a
   * retired worker only once every request routed to it is acknowledged.
   */
  #routed = 0;

  /** A request is routed to this worker: call `answered` when its response is in. */
  route(): () => void {
    this.#routed++;
    return () => {
      if (--this.#routed === 0 && this.retiring) this.#tell({ type: "drain" });
    };
  }

  /** Stop taking requests; exit once in-flight requests and waitUntil tasks finish. */
  retire() {
    if (this.retiring) return;
    this.retiring = true;
    if (this.#routed === 0) this.#tell({ type: "drain" });
  }

  unload(reason: ExitReason) {
    this.retiring = true;
    this.exitReason = reason;
    this.#tell({ type: "unload", reason });
  }

  kill() {
    try {
      this.#process.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

async function pumpLines(stream: ReadableStream<Uint8Array<ArrayBuffer>>, onLine: (line: string) => void) {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer) onLine(buffer);
}

export class EdgeRuntime {
  readonly #workers = new Map<string, Worker>();
  readonly #all = new Set<Worker>();
  readonly #memoryPeaks = new Map<string, WorkerMemoryUsed>();

  constructor(readonly options: EdgeRuntimeOptions) {}

  async handle(req: Request, name: string, subPath: string): Promise<Response> {
    const spec = this.options.catalog.get(name);
    if (!spec || !spec.enabled) return errors.notFound();

    if (spec.verifyJwt && req.method !== "OPTIONS") {
      const auth = req.headers.get("authorization");
      if (!auth) return errors.missingAuth();
      const token = auth.match(/^Bearer\s+(.+)$/i)?.[1];
      if (!token) return errors.invalidJwt();
      try {
        await verifyJwt(token);
      } catch {
        return errors.invalidJwt();
      }
    }

    const worker = this.#workerFor(spec);
    const answered = worker.route();
    try {
      return await this.#forward(req, name, subPath, worker);
    } finally {
      answered();
    }
  }

  async #forward(req: Request, name: string, subPath: string, worker: Worker): Promise<Response> {
    let port: number;
    try {
      port = await worker.ready;
    } catch {
      this.#forget(worker);
      return worker.exitReason === "boot_error" ? errors.bootError() : this.#exitResponse(worker);
    }

    const url = new URL(req.url);
    const target = `http://127.0.0.1:${port}/${name}${subPath}${url.search}`;
    const abort = new AbortController();
    const headers = new Headers(req.headers);
    headers.delete("host");
    const forwarded = fetch(target, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
      signal: abort.signal,
    });
    const died = worker.exited.then(() => "exited" as const);
    const outcome = await Promise.race([forwarded.then((r) => r, () => "failed" as const), died]);
    if (outcome === "exited" || outcome === "failed") {
      abort.abort();
      await worker.exited;
      return this.#exitResponse(worker);
    }
    return outcome;
  }

  #exitResponse(worker: Worker) {
    return worker.exitReason === "crash" ? errors.workerError() : errors.workerLimit();
  }

  #workerFor(spec: FunctionSpec): Worker {
    const current = this.#workers.get(spec.name);
    if (current && !current.retiring && current.spec.entrypoint === spec.entrypoint) {
      if (current.age < current.wallClockMs / 2) return current;
      current.retire();
    }
    const worker = new Worker(spec, this.options, (used) => {
      if (used.total > (this.#memoryPeaks.get(spec.name)?.total ?? 0)) this.#memoryPeaks.set(spec.name, used);
    });
    this.#workers.set(spec.name, worker);
    this.#all.add(worker);
    worker.exited.then(() => this.#forget(worker));
    return worker;
  }

  #forget(worker: Worker) {
    this.#all.delete(worker);
    if (this.#workers.get(worker.spec.name) === worker) this.#workers.delete(worker.spec.name);
  }

  /** The highest memory any worker of this function has reported since the stack started. */
  memoryPeak(name: string): WorkerMemoryUsed | undefined {
    return this.#memoryPeaks.get(name);
  }

  /** Retire every worker, so the next request boots fresh code (used on file changes). */
  reload() {
    for (const worker of this.#all) worker.retire();
    this.#workers.clear();
  }

  /** Drops the worker of one function at once, as a crash would (for tests and demos). */
  async kill(name: string) {
    const worker = this.#workers.get(name);
    if (!worker) return false;
    worker.kill();
    await worker.exited;
    return true;
  }

  async stop() {
    const all = [...this.#all];
    for (const worker of all) worker.unload("termination");
    const deadline = new Promise((r) => setTimeout(r, this.options.graceMs + 500));
    await Promise.race([Promise.allSettled(all.map((w) => w.exited)), deadline]);
    for (const worker of all) worker.kill();
    await Promise.allSettled(all.map((w) => w.exited));
  }
}

export function watchFunctionFolders(folders: string[], runtime: EdgeRuntime): () => void {
  const watcher = Deno.watchFs(folders.filter((f) => {
    try {
      return Deno.statSync(f).isDirectory;
    } catch {
      return false;
    }
  }), { recursive: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    for await (const _ of watcher) {
      clearTimeout(timer);
      timer = setTimeout(() => runtime.reload(), 100);
    }
  })().catch(() => {});
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
