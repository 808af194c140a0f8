/**
 * Function secrets, as `supabase functions serve` loads them: supabase/functions/.env,
 * then the file named by TRIBUTARY_FUNCTIONS_ENV (whose values win). Names starting
 * with SUPABASE_ are reserved for the platform and are skipped, as the CLI does.
 */
import { existsSync } from "node:fs";
import { parse } from "dotenv";

const warned = new Set<string>();

export function loadFunctionSecrets(files: string[]): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const [name, value] of Object.entries(parse(Deno.readTextFileSync(file)))) {
      if (name.startsWith("SUPABASE_")) {
        if (!warned.has(`${file}:${name}`)) {
          warned.add(`${file}:${name}`);
          console.warn(`[functions] ${file}: env name cannot start with SUPABASE_, skipping ${name}`);
        }
        continue;
      }
      secrets[name] = value;
    }
  }
  return secrets;
}
