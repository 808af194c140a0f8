#!/usr/bin/env node
// The `npx tributary-sync …` entry: runs the Deno CLI (cli/main.ts) with the Deno that
// npm installed beside it, passing the arguments, the terminal and the exit status through.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const deno = join(dirname(require.resolve("deno/package.json")), "bin.cjs");
const result = spawnSync(
  process.execPath,
  [deno, "run", "-A", "--config", join(root, "deno.json"), join(root, "cli", "main.ts"), ...process.argv.slice(2)],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
