/**
 * `npm start` and `npm test` land here (after bootstrap.sh has installed what is missing).
 *
 *   start   bring up the dev stack on 54321/54322, run the demo sync (skip it with
 *           --no-demo), print its status, serve until Ctrl-C (--logs: print function logs)
 *   test    bring up a throwaway stack on 55321/55322, run every suite, print
 *           `N passed, M failed`, exit non-zero on any failure
 *   types   regenerate functions/_shared/database.types.ts from the running dev stack
 */
import { join } from "node:path";
import postgres from "postgres";
import { generateTypes, TYPES_FILE } from "./database.ts";
import { type DemoSource, ensureDemoUser, FAKE_DEMOS, ordersSource, reportDemo, runDemo, serveDemoApi } from "./demo.ts";
import { assertPortFree } from "./ports.ts";
import { type Profile, profile as profileFor, ROOT } from "./profile.ts";
import { type Stack, startStack } from "./stack.ts";
import { baseUrls, type FakeServer, serveFakes } from "../tests/fakes/server.ts";
import { dbLint, denoTest, generatedTypes, pgTap, type SuiteResult, typeCheck } from "./suites.ts";

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;

function printStatus(stack: Stack, demoToken?: string) {
  const p = stack.profile;
  const rows: [string, string][] = [
    ["API URL", p.apiUrl],
    ["Dashboard", `${p.apiUrl}/dashboard/`],
    ["Functions URL", `${p.apiUrl}/functions/v1`],
    ["Realtime URL", `${p.apiUrl.replace(/^http/, "ws")}/realtime/v1/websocket`],
    ["DB URL", p.dbUrl],
    ["JWT secret", stack.keys.jwtSecret],
    ["anon key", stack.keys.anon],
    ["service_role key", stack.keys.serviceRole],
    ...(demoToken ? [["demo user token", demoToken] as [string, string]] : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padStart(width)}: ${v}`).join("\n"));
}

function progress(started: number) {
  return (step: string) => console.log(dim(`[stack] ${step} (${((performance.now() - started) / 1000).toFixed(1)}s)`));
}

const fakesUrl = (profile: Profile) => `http://127.0.0.1:${profile.fakesPort}`;

/**
 * The fake upstreams (tests/fakes) on the profile's port, for tests and demos. Started
 * once the stack is up, so a second stack on the profile is refused by the stack's own
 * lock (which says so) before any port is probed.
 */
async function startFakes(stack: Stack): Promise<FakeServer> {
  try {
    await assertPortFree(stack.profile.fakesPort, "fake upstreams", "TRIBUTARY_FAKES_PORT");
    return serveFakes(stack.profile.fakesPort);
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

const testStackOptions = (profile: Profile) => {
  if (!Deno.env.get("TRIBUTARY_FUNCTIONS_ENV")) {
    Deno.env.set("TRIBUTARY_FUNCTIONS_ENV", join(ROOT, "tests", "fixtures", "functions.env"));
  }
  return {
    extraFunctionConfigs: [join(ROOT, "tests", "fixtures", "config.toml")],
    extraFunctionFolders: [join(ROOT, "tests", "fixtures", "functions")],
    functionSecrets: baseUrls(fakesUrl(profile)),
  };
};

/** The value after a flag: `--demo spotify` gives "spotify". */
function flagValue(flag: string): string | undefined {
  const i = Deno.args.indexOf(flag);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/** `start --test-stack` serves the test profile, for running single test files by hand. */
async function start(testStack: boolean) {
  const started = performance.now();
  const profile = profileFor(testStack ? "test" : "dev");
  const demoProvider = flagValue("--demo");
  if (demoProvider && !FAKE_DEMOS[demoProvider]) {
    throw new Error(`--demo ${demoProvider}: no demo for that provider; pick one of ${Object.keys(FAKE_DEMOS).join(", ")}`);
  }
  // Tests, and a provider demo, talk to the fake upstreams instead of the real services.
  const stack = await startStack(profile, {
    ...(testStack ? testStackOptions(profile) : {}),
    ...(demoProvider ? { functionSecrets: baseUrls(fakesUrl(profile)) } : {}),
    // Function logs go to their file; --logs also prints them (they would break the demo's bar).
    echoFunctionLogs: Deno.args.includes("--logs"),
    watch: true,
    onStep: progress(started),
  });
  const fakes = testStack || demoProvider ? await startFakes(stack) : undefined;
  console.log(`\n${bold("Tributary local stack is running")} ${dim(`(started in ${((performance.now() - started) / 1000).toFixed(1)}s)`)}`);

  const demo = !Deno.args.includes("--no-demo") && !testStack;
  const demoApi = demo && !demoProvider ? serveDemoApi() : undefined;
  // The dev stack's demo user, with a token so the dashboard and `sync login` work at once.
  let demoToken: string | undefined;
  if (!testStack) {
    const sql = postgres(stack.profile.dbUrl, { max: 2, onnotice: () => {} });
    if (demo) {
      try {
        const source: DemoSource = demoProvider ? await FAKE_DEMOS[demoProvider](fakes!.url) : ordersSource(demoApi!.url);
        if (demoProvider) console.log(dim(`sync-${demoProvider} talks to the fake ${demoProvider} API at ${fakes!.url}/${demoProvider} for this session.`));
        reportDemo(source, await runDemo(stack.profile.apiUrl, sql, source));
      } catch (e) {
        console.error(`Demo sync could not run: ${(e as Error).message}`);
      }
    }
    demoToken = await ensureDemoUser(sql);
    await sql.end();
  }
  console.log();
  printStatus(stack, demoToken);
  if (demoToken) console.log(dim(`\nSign in to the dashboard with the demo user token, or: npm run -s sync -- login --token <demo user token>`));
  console.log(dim(`\nFunction logs: ${stack.functionLog} (or start with --logs)\nPress Ctrl-C to stop.`));

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    Deno.addSignalListener("SIGINT", done);
    Deno.addSignalListener("SIGTERM", done);
  });
  console.log(dim("\n[stack] stopping..."));
  await demoApi?.close();
  await stack.stop();
  await fakes?.close();
  console.log(dim("[stack] stopped"));
  Deno.exit(0);
}

async function test() {
  const started = performance.now();
  const profile = profileFor("test");
  const stack = await startStack(profile, { ...testStackOptions(profile), onStep: progress(started) });
  const fakes = await startFakes(stack);
  const results: SuiteResult[] = [];
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
  };
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    results.push(await pgTap(stack));
    results.push(await denoTest(stack));
    results.push(await generatedTypes(stack));
    results.push(await typeCheck());
    results.push(await dbLint(stack));
  } finally {
    await stack.stop();
    await fakes.close();
    Deno.removeSignalListener("SIGINT", interrupt);
  }

  console.log(`\n${bold("Summary")} ${dim(`(${((performance.now() - started) / 1000).toFixed(1)}s)`)}`);
  for (const r of results) {
    console.log(`  ${r.name.padEnd(10)} ${r.passed} passed, ${r.failed} failed${r.note ? dim(` (${r.note})`) : ""}`);
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  Deno.exit(failed > 0 || interrupted ? 1 : 0);
}

const command = Deno.args[0] ?? "start";
try {
  if (command === "start") await start(Deno.args.includes("--test-stack"));
  else if (command === "test") await test();
  else if (command === "types") {
    await Deno.writeTextFile(TYPES_FILE, await generateTypes(profileFor("dev")));
    console.log(`wrote ${TYPES_FILE}`);
  }
  else {
    console.error(`unknown command "${command}"; use start, test or types`);
    Deno.exit(2);
  }
} catch (e) {
  console.error(`\n\x1b[31m${e instanceof Error ? e.message : e}\x1b[0m`);
  Deno.exit(1);
}
