/**
 * Which functions exist and how to run them, read the way `supabase functions serve`
 * reads them: every `[functions.<name>]` entry in supabase/config.toml (with
 * `enabled`, `verify_jwt` and `entrypoint`), plus any `<name>/index.ts` found in the
 * function folders. Relative entrypoints resolve from the supabase/ folder.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "smol-toml";

export interface FunctionSpec {
  name: string;
  entrypoint: string; // absolute path
  verifyJwt: boolean;
  enabled: boolean;
  /** Local-only override of the wall-clock budget (test fixtures use it). */
  wallClockMs?: number;
}

interface ConfigFunctions {
  functions?: Record<string, { enabled?: boolean; verify_jwt?: boolean; entrypoint?: string; wall_clock_ms?: number }>;
}

function readConfig(configPath: string): Map<string, FunctionSpec> {
  const specs = new Map<string, FunctionSpec>();
  if (!existsSync(configPath)) return specs;
  const config = parse(Deno.readTextFileSync(configPath)) as ConfigFunctions;
  const base = resolve(configPath, "..");
  for (const [name, entry] of Object.entries(config.functions ?? {})) {
    specs.set(name, {
      name,
      entrypoint: resolve(base, entry.entrypoint ?? join("functions", name, "index.ts")),
      verifyJwt: entry.verify_jwt ?? true,
      enabled: entry.enabled ?? true,
      wallClockMs: entry.wall_clock_ms,
    });
  }
  return specs;
}

/** A function catalogue that re-reads its sources when they change. */
export class FunctionCatalog {
  #stamp = "";
  #specs = new Map<string, FunctionSpec>();

  /**
   * @param configPaths config.toml files, later ones win (tests add fixture functions).
   * @param folders folders whose `<name>/index.ts` are functions even without an entry.
   */
  constructor(readonly configPaths: string[], readonly folders: string[]) {}

  #currentStamp(): string {
    return [...this.configPaths, ...this.folders]
      .map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0))
      .join(",");
  }

  get(name: string): FunctionSpec | undefined {
    const stamp = this.#currentStamp();
    if (stamp !== this.#stamp) {
      this.#specs = this.#load();
      this.#stamp = stamp;
    }
    // Names are path segments chosen by the caller: only plain names map to files.
    if (!/^[A-Za-z0-9_-]+$/.test(name)) return undefined;
    const spec = this.#specs.get(name);
    if (spec) return existsSync(spec.entrypoint) ? spec : undefined;
    for (const folder of this.folders) {
      const entrypoint = join(folder, name, "index.ts");
      if (!name.startsWith("_") && existsSync(entrypoint)) {
        return { name, entrypoint, verifyJwt: true, enabled: true };
      }
    }
    return undefined;
  }

  #load(): Map<string, FunctionSpec> {
    const specs = new Map<string, FunctionSpec>();
    for (const path of this.configPaths) {
      for (const [name, spec] of readConfig(path)) specs.set(name, spec);
    }
    return specs;
  }
}
