/**
 * The `sync` command line as a user runs it: a separate process against the real stack,
 * with its login in a throwaway config file. `start --watch` runs in a pseudo-terminal
 * (util-linux `script`), where it must redraw one live bar, and in a pipe, where it must
 * print plain lines.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../../local-stack/profile.ts";
import { pagedApi } from "../support/paged-api.ts";
import { apiUrl, createUser, db, type TestUser } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const CLI = [
  Deno.execPath(),
  "run",
  "-A",
  `--config=${join(ROOT, "deno.json")}`,
  join(ROOT, "cli", "main.ts"),
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sync <args>` with its output piped (not a terminal). */
async function sync(config: string, args: string[], stdin?: string): Promise<Run> {
  const child = new Deno.Command(CLI[0], {
    args: [...CLI.slice(1), ...args],
    env: { TRIBUTARY_CONFIG: config, NO_COLOR: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

/** Runs `sync <args>` in a pseudo-terminal; stdout and stderr arrive together, as on screen. */
async function syncInTerminal(config: string, args: string[]): Promise<Run> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const { code, stdout } = await new Deno.Command("script", {
    args: ["-qfec", [...CLI, ...args].map(quote).join(" "), "/dev/null"],
    env: { TRIBUTARY_CONFIG: config },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: "" };
}

/** `sync connections add http-json --label <label> --account <account>` (JSON, or text as is). */
function addHttpJson(config: string, label: string, account: unknown): Promise<Run> {
  const text = typeof account === "string" ? account : JSON.stringify(account);
  return sync(config, ["connections", "add", "http-json", "--label", label, "--account", text]);
}

/** An upstream that refuses every request with `status` and `message`. */
function refusingApi(status: number, message: string) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ message }, { status }),
  );
}

async function loggedIn(user: TestUser): Promise<string> {
  const config = await Deno.makeTempFile({ prefix: "tributary-cli-", suffix: ".json" });
  const login = await sync(config, ["login", "--url", apiUrl, "--token", "-"], user.token);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, new RegExp(`Logged in to .* as ${user.email}`));
  assert.equal(
    (await Deno.stat(config)).mode! & 0o777,
    0o600,
    "the stored token is readable by its user only",
  );
  return config;
}

e2e("--help lists every command and flag", async () => {
  const { code, stdout } = await sync("/nonexistent/cli.json", ["--help"]);
  assert.equal(code, 0);
  for (
    const text of [
      "login",
      "connections list",
      "connections add",
      "connections update",
      "connections remove",
      "start <connection>",
      "--watch",
      "--dry-run",
      "jobs list",
      "jobs show",
      "jobs cancel",
      "jobs retry",
      "admin health",
      "admin pause",
      "admin resume",
    ]
  ) assert.ok(stdout.includes(text), `help mentions ${text}`);
});

e2e("the npx entry (bin/tributary-sync.mjs) runs the same CLI under Node, exit status included", async () => {
  const run = async (...args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command("node", {
      args: [join(ROOT, "bin", "tributary-sync.mjs"), ...args],
      env: { TRIBUTARY_CONFIG: "/nonexistent/cli.json" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
  };
  const help = await run("--help");
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^sync: Tributary's command line/);
  const wrong = await run("nonsense");
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /Unknown command "nonsense"/);
});

e2e(
  "without a login every command says to run `sync login` first; a wrong flag says to see --help",
  async () => {
    const config = join(await Deno.makeTempDir(), "cli.json");
    const jobs = await sync(config, ["jobs", "list"]);
    assert.equal(jobs.code, 1);
    assert.match(jobs.stderr, /Not logged in: run `sync login --token <access token>` first/);

    const typo = await sync(config, ["jobs", "list", "--stauts", "failed"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /--stauts.*\n.*sync --help/s);

    const forged = await sync(config, ["login", "--url", apiUrl, "--token", "not.a.token"]);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /That token was refused/);
  },
);

e2e("connections add, list, update and remove; credentials read from stdin never echo back", async () => {
  const sql = db();
  const user = await createUser(sql);
  try {
    const config = await loggedIn(user);
    const bad = await addHttpJson(config, "Bad", '{"url": 5}');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /account\.url/);

    const add = await sync(config, [
      "connections",
      "add",
      "http-json",
      "--label",
      "Orders",
      "--account",
      '{"url":"http://127.0.0.1:9/o"}',
      "--credentials",
      "-",
    ], '{"headers":{"x-key":"cli-s3cret"}}');
    assert.equal(add.code, 0, add.stderr);
    const list = await sync(config, ["connections", "list"]);
    assert.match(list.stdout, /Orders\s+http-json\s+off/);
    assert.ok(!list.stdout.includes("cli-s3cret"));

    const update = await sync(config, [
      "connections",
      "update",
      "Orders",
      "--auto-sync",
      "on",
      "--cadence",
      "1 day",
    ]);
    assert.equal(update.code, 0, update.stderr);
    assert.match((await sync(config, ["connections", "list"])).stdout, /every 1 day/);

    const remove = await sync(config, ["connections", "remove", "Orders"]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.match((await sync(config, ["connections", "list"])).stdout, /\(none\)/);
  } finally {
    await sql.end();
  }
});

e2e("start --watch in a terminal redraws one bar, with rows, rate and ETA, until 100%", async () => {
  const sql = db();
  const user = await createUser(sql);
  const upstream = pagedApi({ pages: 8, perPage: 25, delayMs: 120 });
  try {
    const config = await loggedIn(user);
    assert.equal(
      (await addHttpJson(config, "Paged", upstream.account)).code,
      0,
    );
    const run = await syncInTerminal(config, ["start", "Paged", "--watch"]);
    assert.equal(run.code, 0, run.stdout);
    const frames = run.stdout.split("\r\x1b[2K").slice(1).map((f) => f.replace(/\r?\n.*$/s, ""));
    assert.ok(frames.length >= 3, `redrawn in place: ${JSON.stringify(run.stdout)}`);
    assert.match(frames.at(-1)!, /█{24} 100%\s+succeeded\s+200\/200 rows/);
    const moving = frames.filter((f) => /rows\/s\s+ETA \d+s/.test(f));
    assert.ok(moving.length > 0, `a frame with rate and ETA: ${JSON.stringify(frames)}`);
    assert.match(run.stdout, /Done in \d+s: (200 records, 8 pages|8 pages, 200 records)\./);
  } finally {
    upstream.close();
    await sql.end();
  }
});

e2e("start --watch in a pipe prints plain lines; a failed job says how to retry it", async () => {
  const sql = db();
  const user = await createUser(sql);
  const upstream = pagedApi({ pages: 2, perPage: 3 });
  const refusing = refusingApi(403, "API key revoked");
  try {
    const config = await loggedIn(user);
    await addHttpJson(config, "Small", upstream.account);
    const ok = await sync(config, ["start", "Small", "--watch"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!/[\r\x1b]/.test(ok.stdout), "no redraws or colours in a pipe");
    const lines = ok.stdout.trim().split("\n");
    assert.match(lines.at(-2)!, /^100%\s+succeeded\s+6\/6 rows$/);
    assert.match(lines.at(-1)!, /^Done in \d+s: (6 records, 2 pages|2 pages, 6 records)\.$/);

    const url = `http://127.0.0.1:${refusing.addr.port}/items`;
    await addHttpJson(config, "Revoked", { url });
    const failed = await sync(config, ["start", "Revoked", "--watch"]);
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      /^Failed: .*403.*\nRetry it from where it stopped with `sync jobs retry [0-9a-f-]{36}`\.\n$/s,
    );

    const jobId = failed.stderr.match(/retry ([0-9a-f-]{36})/)![1];
    const show = await sync(config, ["jobs", "show", jobId]);
    assert.match(show.stdout, /status: failed/);
    const retried = await sync(config, ["jobs", "retry", jobId]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /Queued job .* again, from its last cursor/);
  } finally {
    upstream.close();
    await refusing.shutdown();
    await sql.end();
  }
});

e2e("a job that failed on revoked credentials says the connection needs reconnecting, and how", async () => {
  const sql = db();
  const user = await createUser(sql);
  const refusing = refusingApi(401, "token revoked");
  try {
    const config = await loggedIn(user);
    await addHttpJson(config, "Gone", { url: `http://127.0.0.1:${refusing.addr.port}/x` });
    // What the Spotify worker records on invalid_grant (tests/providers/spotify.test.ts
    // covers that path); here the CLI's handling of it is under test.
    await sql`update sync.connections set reconnect_reason = 'Spotify refused the refresh token (invalid_grant)' where owner_id = ${user.id}`;
    const run = await sync(config, ["start", "Gone", "--watch"]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /connection needs reconnecting: Spotify refused the refresh token \(invalid_grant\)/,
    );
    assert.match(run.stderr, /sync connections update [0-9a-f-]{36} --credentials -/);
  } finally {
    await refusing.shutdown();
    await sql.end();
  }
});

e2e("admin commands: refused for a user, health and pause state for an admin", async () => {
  const sql = db();
  const user = await createUser(sql);
  const admin = await createUser(sql, { appMetadata: { role: "admin" } });
  try {
    const refused = await sync(await loggedIn(user), ["admin", "health"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /for admins/);

    const health = await sync(await loggedIn(admin), ["admin", "health"]);
    assert.equal(health.code, 0, health.stderr);
    assert.match(health.stdout, /^(Processing: on|PAUSED: .*)\nPROVIDER\s+QUEUED\s+RUNNING/);
    assert.match(health.stdout, /\nhttp-json\s+\d+/);
  } finally {
    await sql.end();
  }
});
