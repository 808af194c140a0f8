/**
 * Builds the client for Node and JavaScript bundlers: `npm run client:build -- [outdir]`
 * writes ES modules `mod.js` and `react.js` (default client/dist). supabase-js and React
 * stay imports, so the app's own copies are used. Deno and TypeScript bundlers can import
 * the .ts sources directly instead.
 */
import * as esbuild from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

export async function buildClient(outdir = join(HERE, "dist")) {
  await esbuild.build({
    entryPoints: { mod: join(HERE, "mod.ts"), react: join(HERE, "react.ts") },
    outdir,
    bundle: true,
    // react.js shares mod.js's code (one SyncError class for both) instead of a copy.
    splitting: true,
    format: "esm",
    platform: "neutral",
    target: ["es2022"],
    external: ["@supabase/supabase-js", "react"],
    logLevel: "warning",
  });
  await esbuild.stop();
  return outdir;
}

if (import.meta.main) console.log(`Client built into ${await buildClient(Deno.args[0])}`);
