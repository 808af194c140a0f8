/**
 * WriteBehind (functions/_shared/providers/write-behind.ts): checkpoints follow writes
 * in page order, at most `maxWrites` writes are in flight, empty pages hold no place,
 * ready checkpoints are merged into the newest, and a failed write stops the run.
 */
import assert from "node:assert/strict";
import type { Chunk } from "../../functions/_shared/provider.ts";
import { WriteBehind } from "../../functions/_shared/providers/write-behind.ts";
import { manualWrite, settle } from "../support/promises.ts";

function page(n: number, write: Promise<unknown> | null, ran: number[]) {
  return async (): Promise<Chunk> => {
    await write;
    ran.push(n);
    return { cursor: { page: n }, progress: { phase: "test" }, done: false };
  };
}

Deno.test("write-behind: a checkpoint waits for its page's write, and checkpoints go in page order", async () => {
  const behind = new WriteBehind(2);
  const ran: number[] = [];
  const [w1, w2] = [manualWrite(), manualWrite()];
  behind.add(w1.promise, page(1, w1.promise, ran));
  assert.equal(await behind.due(), null, "one write in flight: nothing to wait for yet");
  behind.add(w2.promise, page(2, w2.promise, ran));
  let due: Chunk | null | undefined;
  const waiting = behind.due().then((c) => (due = c));
  w2.finish(); // the later write finishing first does not let its checkpoint jump the queue
  await settle();
  assert.equal(due, undefined, "two writes in flight: waits for the oldest");
  w1.finish();
  await waiting;
  assert.deepEqual(ran, [1, 2], "both checkpoints ran, in page order");
  assert.deepEqual(due!.cursor, { page: 2 }, "one checkpoint yielded for both: the newest cursor covers the older");
});

Deno.test("write-behind: pages without a write take no place among the writes in flight", async () => {
  const behind = new WriteBehind(2);
  const ran: number[] = [];
  const w1 = manualWrite();
  behind.add(w1.promise, page(1, w1.promise, ran));
  await behind.due();
  // Steam's empty end-of-date page right behind a full page must not stop the loop.
  behind.add(null, page(2, null, ran));
  let due: Chunk | null | undefined;
  behind.due().then((c) => (due = c));
  await settle();
  assert.equal(due, null, "the loop goes on: one write in flight, and the empty page waits behind it");
  assert.deepEqual(ran, [], "no checkpoint passes the page whose write is not stored");
  w1.finish();
  await settle();
  const w3 = manualWrite();
  behind.add(w3.promise, page(3, w3.promise, ran));
  const c = await behind.due();
  assert.deepEqual(ran, [1, 2]);
  assert.deepEqual(c!.cursor, { page: 2 });
  w3.finish();
  const last = await behind.drain();
  assert.deepEqual(last!.cursor, { page: 3 });
  assert.deepEqual(ran, [1, 2, 3]);
});

Deno.test("write-behind: a failed write fails its checkpoint, and none after it runs", async () => {
  const behind = new WriteBehind(2);
  const ran: number[] = [];
  const [w1, w2] = [manualWrite(), manualWrite()];
  behind.add(w1.promise, page(1, w1.promise, ran));
  behind.add(w2.promise, page(2, w2.promise, ran));
  w2.finish();
  w1.fail(new Error("the database went away"));
  await assert.rejects(behind.due(), /the database went away/);
  assert.deepEqual(ran, [], "page 2 was stored, but its checkpoint would pass page 1's lost rows");
});

Deno.test("write-behind: drain checkpoints every page left, and nothing when there is none", async () => {
  const behind = new WriteBehind(3);
  assert.equal(await behind.drain(), null);
  const ran: number[] = [];
  const writes = [manualWrite(), manualWrite()];
  writes.forEach((w, i) => behind.add(w.promise, page(i + 1, w.promise, ran)));
  assert.equal(await behind.due(), null, "two of three places taken: no wait");
  const third = manualWrite();
  behind.add(third.promise, page(3, third.promise, ran));
  let due: Chunk | null | undefined;
  const waiting = behind.due().then((c) => (due = c));
  await settle();
  assert.equal(due, undefined, "the third write fills the places: the loop waits before starting a fourth");
  writes[0].finish();
  await waiting;
  assert.deepEqual(due!.cursor, { page: 1 });
  const drained = behind.drain();
  third.finish();
  writes[1].finish();
  assert.deepEqual((await drained)!.cursor, { page: 3 });
  assert.deepEqual(ran, [1, 2, 3]);
});

Deno.test("write-behind: checkpoints are spaced by the interval asked, the held one covered by the next, and drain yields the last", async () => {
  const behind = new WriteBehind(2, 60_000);
  const ran: number[] = [];
  behind.add(null, page(1, null, ran));
  assert.deepEqual((await behind.due())!.cursor, { page: 1 }, "the first checkpoint goes at once");
  behind.add(null, page(2, null, ran));
  assert.equal(await behind.due(), null, "within the interval: held back");
  behind.add(null, page(3, null, ran));
  assert.equal(await behind.due(), null);
  assert.deepEqual(ran, [1, 2, 3], "every page's checkpoint work ran, in order, held or not");
  assert.deepEqual((await behind.drain())!.cursor, { page: 3 }, "the end of the run yields the newest");
  assert.equal(await behind.drain(), null, "and nothing twice");
});
