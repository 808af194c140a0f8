/**
 * Builds the dashboard into static files (index.html, app.js, styles.css) with esbuild:
 * `npm run dashboard:build -- [outdir]` (default dashboard/dist). Host them anywhere; the
 * local gateway builds and serves them at /dashboard. React and supabase-js come from
 * node_modules (package.json pins the same versions as deno.json).
 */
import * as esbuild from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

export async function buildDashboard(outdir = join(HERE, "dist"), { minify = true } = {}) {
  await mkdir(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(HERE, "src", "main.tsx")],
    outfile: join(outdir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    jsx: "automatic",
    minify,
    sourcemap: true,
    logLevel: "warning",
    absWorkingDir: join(HERE, ".."),
    define: { "process.env.NODE_ENV": minify ? '"production"' : '"development"' },
  });
  await esbuild.stop();
  await copyFile(join(HERE, "index.html"), join(outdir, "index.html"));
  await copyFile(join(HERE, "styles.css"), join(outdir, "styles.css"));
  return outdir;
}

if (import.meta.main) {
  const out = await buildDashboard(Deno.args[0]);
  console.log(`Dashboard built into ${out}`);
}
