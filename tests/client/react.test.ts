/**
 * The React bindings (client/react.ts) rendered in a DOM (happy-dom) against the real
 * stack: a "Sync now" button that ignores double clicks, a live list of the user's jobs,
 * a progress bar for one job, and the onComplete callback that apps use to refresh.
 */
import { dom } from "../support/dom.ts";
import assert from "node:assert/strict";
import type { HTMLElement as DomElement } from "happy-dom";
// @ts-types="@types/react"
import { act, createElement as h, useState } from "react";
// @ts-types="@types/react-dom/client"
import { createRoot } from "react-dom/client";
import { createSyncClient, type ProgressEvent, type StartedJob } from "../../client/mod.ts";
import { SyncProvider, useSyncJob, useSyncJobs } from "../../client/react.ts";
import { pagedApi } from "../support/paged-api.ts";
import { createUser, db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Lets React and the network run until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${dom.document.body.innerHTML}`);
    }
    await act(() => new Promise((r) => setTimeout(r, 20)));
  }
}

function Bar({ jobId, seen }: { jobId: string; seen: number[] }) {
  const { percent, status } = useSyncJob(jobId);
  seen.push(percent);
  return h("progress", { id: "bar", max: 100, value: percent, "data-status": status ?? "" });
}

function App(
  { connectionId, completed, starts }: {
    connectionId: string;
    completed: ProgressEvent[];
    starts: (StartedJob | null)[];
  },
) {
  const { jobs, start, starting } = useSyncJobs({ onComplete: (e) => completed.push(e) });
  const [jobId, setJobId] = useState<string | null>(null);
  const seen = useState<number[]>([])[0];
  const click = async () => {
    const started = await start(connectionId);
    starts.push(started);
    if (started) setJobId(started.job_id);
  };
  return h(
    "div",
    null,
    h("button", { id: "sync", onClick: click, disabled: starting.has(connectionId) }, "Sync now"),
    jobId ? h(Bar, { jobId, seen }) : null,
    h("output", { id: "seen" }, seen.join(",")),
    h(
      "ul",
      null,
      ...jobs.map((j) =>
        h("li", { key: j.job_id, "data-job": j.job_id, "data-status": j.status }, `${j.progress.percent}`)
      ),
    ),
  );
}

e2e(
  "SyncProvider + useSyncJobs + useSyncJob: Sync now, live bar to 100%, onComplete once, double clicks ignored",
  async () => {
    const sql = db();
    const user = await createUser(sql);
    const upstream = pagedApi({ pages: 5, perPage: 10, delayMs: 100 });
    const container = dom.document.createElement("div");
    dom.document.body.appendChild(container);
    const root = createRoot(container as unknown as Element);
    try {
      const { id: connectionId } = await createSyncClient(user.client).connections.create({
        provider: "http-json",
        label: "Hooks",
        account: upstream.account,
      });
      const completed: ProgressEvent[] = [];
      const starts: (StartedJob | null)[] = [];
      await act(() =>
        root.render(h(SyncProvider, { supabase: user.client }, h(App, { connectionId, completed, starts })))
      );

      const button = dom.document.getElementById("sync") as unknown as DomElement;
      await act(async () => {
        button.click();
        button.click();
      });
      await until(() => starts.length === 2, "both clicks handled");
      assert.equal(starts.filter(Boolean).length, 1, "the second click within the cooldown started nothing");
      const jobId = starts.find(Boolean)!.job_id;

      await until(
        () => dom.document.getElementById("bar")?.getAttribute("data-status") === "succeeded",
        "the bar to finish",
      );
      assert.equal(dom.document.getElementById("bar")!.getAttribute("value"), "100");
      await until(
        () =>
          dom.document.querySelector(`li[data-job="${jobId}"]`)?.getAttribute("data-status") === "succeeded",
        "the list to show it",
      );
      await until(() => completed.length > 0, "onComplete");
      await act(() => new Promise((r) => setTimeout(r, 300)));
      assert.deepEqual(
        completed.map((e) => [e.job_id, e.status]),
        [[jobId, "succeeded"]],
        "onComplete fired once, for this job",
      );
      const seen = dom.document.getElementById("seen")!.textContent!.split(",").map(Number);
      assert.ok(seen.some((p) => p > 0 && p < 100), `the bar moved through the middle: ${seen}`);

      const [{ n }] =
        await sql`select count(*)::int as n from sync.jobs where connection_id = ${connectionId}`;
      assert.equal(n, 1);
    } finally {
      await act(() => root.unmount());
      upstream.close();
      await user.client.removeAllChannels();
      await sql.end();
    }
  },
);

e2e(
  "useSyncJobs lists jobs that finished before the component mounted, without calling onComplete",
  async () => {
    const sql = db();
    const user = await createUser(sql);
    const upstream = pagedApi({ pages: 1, perPage: 2 });
    const container = dom.document.createElement("div");
    dom.document.body.appendChild(container);
    const root = createRoot(container as unknown as Element);
    try {
      const sync = createSyncClient(user.client);
      const { id } = await sync.connections.create({
        provider: "http-json",
        label: "Earlier",
        account: upstream.account,
      });
      const { job_id } = await sync.startSync(id);
      await sync.waitForJob(job_id);
      await new Promise((r) => setTimeout(r, 1_100));

      const completed: ProgressEvent[] = [];
      await act(() =>
        root.render(
          h(SyncProvider, { supabase: user.client }, h(App, { connectionId: id, completed, starts: [] })),
        )
      );
      await until(
        () =>
          container.querySelector(`li[data-job="${job_id}"]`)?.getAttribute("data-status") === "succeeded",
        "the earlier job listed",
      );
      await act(() => new Promise((r) => setTimeout(r, 300)));
      assert.deepEqual(completed, []);
    } finally {
      await act(() => root.unmount());
      upstream.close();
      await user.client.removeAllChannels();
      await sql.end();
    }
  },
);
