/**
 * The stack's own refusals: a port already taken, or a second stack on the same
 * profile, fail at once with an error that says what to do.
 */
import assert from "node:assert/strict";
import { ROOT } from "../../local-stack/profile.ts";
import { assertPortFree } from "../../local-stack/ports.ts";

/** Runs `cli.ts start`; every case here must be refused before anything starts. */
async function startStack(profileFlag: string[], env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "local-stack/cli.ts", "start", ...profileFlag],
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const guard = setTimeout(() => child.kill("SIGINT"), 30_000);
  const out = await child.output();
  clearTimeout(guard);
  return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

function occupyPort() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

Deno.test("a port in use is named in the error, with the variable that moves it", async () => {
  const taken = occupyPort();
  try {
    await assert.rejects(
      () => assertPortFree(taken.port, "Postgres", "TRIBUTARY_DB_PORT"),
      (e: Error) =>
        e.message.includes(`Port ${taken.port} (Postgres) is already in use`) && e.message.includes("TRIBUTARY_DB_PORT"),
    );
    // Through the CLI: the dev stack refuses to start on a taken API port (or, if a
    // developer's `npm start` is up, refuses to start a second dev stack).
    const { code, text } = await startStack([], { TRIBUTARY_API_PORT: String(taken.port) });
    assert.notEqual(code, 0);
    assert.match(text, new RegExp(`Port ${taken.port} \\(API gateway\\) is already in use|Another Tributary dev stack is running`));
  } finally {
    taken.close();
  }
});

Deno.test("a second stack on a running profile is refused, and touches nothing", async () => {
  const pidFile = `${ROOT}/.tributary/test/stack.pid`;
  const running = await Deno.readTextFile(pidFile).catch(() => null);
  const taken = occupyPort();
  try {
    const { code, text } = await startStack(["--test-stack"], { TRIBUTARY_API_PORT: String(taken.port) });
    assert.notEqual(code, 0);
    // Under `npm test` the test stack is up, so the lock refuses; run by hand against
    // the dev stack, the taken port does.
    assert.match(text, running ? /Another Tributary test stack is running \(pid \d+\)/ : /is already in use/);
    if (running) assert.equal(await Deno.readTextFile(pidFile), running, "the running stack keeps its lock");
  } finally {
    taken.close();
  }
});
