/**
 * `sync`: Tributary's command line (`npm run sync -- …`, `deno task sync …`, or `npx tributary-sync …`
 * through bin/tributary-sync.mjs). Parses the command line, runs the command, and turns
 * every failure into one line that says what to do next.
 */
import { parseArgs } from "node:util";
import { SyncError } from "../client/mod.ts";
import { CommandError, commands, type Flags, type Output, UsageError } from "./commands.ts";
import { HELP } from "./help.ts";

const STRING_FLAGS = [
  "token",
  "url",
  "anon-key",
  "label",
  "account",
  "credentials",
  "auto-sync",
  "cadence",
  "lookback-days",
  "kind",
  "params",
  "status",
  "provider",
  "limit",
] as const;

/** The advice for an error from the stack, by what went wrong. */
function explain(e: SyncError): string {
  if (e.unauthenticated) {
    return `${e.message}\nYour token was refused: run \`sync login --token <access token>\` again.`;
  }
  return e.message;
}

export async function main(argv: string[], out: Output): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: "string" as const }])),
        "dry-run": { type: "boolean" },
        watch: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    out.stderr.write(`${(e as Error).message}\nSee \`sync --help\`.\n`);
    return 2;
  }
  const [command, ...args] = parsed.positionals;
  const flags = parsed.values as Flags & { help?: boolean };
  if (flags.help || !command || command === "help") {
    out.stdout.write(HELP);
    return command || flags.help ? 0 : 2;
  }
  const run = commands[command];
  if (!run) {
    out.stderr.write(`Unknown command "${command}". See \`sync --help\`.\n`);
    return 2;
  }
  try {
    return (await run({ ...out, json: Boolean(flags.json) }, args, flags)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr.write(`${e.message}\nSee \`sync --help\`.\n`);
      return 2;
    }
    if (e instanceof CommandError) out.stderr.write(`${e.message}\n`);
    else if (e instanceof SyncError) out.stderr.write(`${explain(e)}\n`);
    else throw e;
    return 1;
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const columns = () => {
    try {
      // A pseudo-terminal nobody sized reports 0 columns: draw at the default width.
      return Deno.consoleSize().columns || undefined;
    } catch {
      return undefined;
    }
  };
  const code = await main(Deno.args, {
    json: false,
    stdout: {
      write: (t) => void Deno.stdout.writeSync(encoder.encode(t)),
      isTerminal: Deno.stdout.isTerminal(),
      columns: columns(),
    },
    stderr: { write: (t) => void Deno.stderr.writeSync(encoder.encode(t)) },
    readStdin: async () => await new Response(Deno.stdin.readable).text(),
    onInterrupt(handler) {
      Deno.addSignalListener("SIGINT", handler);
      return () => Deno.removeSignalListener("SIGINT", handler);
    },
  });
  Deno.exit(code);
}
