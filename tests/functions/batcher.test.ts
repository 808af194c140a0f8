/**
 * Batcher (functions/_shared/batcher.ts): at most `maxWrites` writes in flight, the
 * items that come meanwhile written together and in order, each caller answered with
 * its own batch's result, and a failed batch failing only its own items.
 */
import assert from "node:assert/strict";
import { Batcher } from "../../functions/_shared/batcher.ts";
import { manualWrite, settle } from "../support/promises.ts";

/** A write function whose calls the test sees and finishes by hand. */
function recordedWrites() {
  const calls: { rows: number[]; write: ReturnType<typeof manualWrite> }[] = [];
  const write = (rows: number[]) => {
    const w = manualWrite();
    calls.push({ rows, write: w });
    return w.promise;
  };
  return { calls, write };
}

Deno.test("batcher: pages that come while both writes are busy go out together, in order, when one ends", async () => {
  const { calls, write } = recordedWrites();
  const batcher = new Batcher<number>(write, 2);
  const stored: number[] = [];
  const add = (page: number[]) => batcher.add(page).then(() => stored.push(page[0]));
  add([1, 2]);
  add([3]);
  assert.deepEqual(calls.map((c) => c.rows), [[1, 2], [3]], "the first two pages are written at once, each alone");
  add([4, 5]);
  add([6]);
  await settle();
  assert.equal(calls.length, 2, "both writes busy: the next pages wait");
  calls[1].write.finish();
  await settle();
  assert.deepEqual(calls.map((c) => c.rows), [[1, 2], [3], [4, 5, 6]], "one write for the two waiting pages, rows in order");
  assert.deepEqual(stored, [3], "a page counts as stored only once its own batch is");
  calls[2].write.finish();
  calls[0].write.finish();
  await settle();
  assert.deepEqual(stored.sort(), [1, 3, 4, 6]);
});

Deno.test("batcher: a failed batch fails each of its pages, and later pages are still written", async () => {
  const { calls, write } = recordedWrites();
  const batcher = new Batcher<number>(write, 1);
  const first = batcher.add([1]);
  const second = batcher.add([2]);
  const third = batcher.add([3]);
  assert.equal(second, third, "the two waiting pages share one batch");
  first.catch(() => {});
  calls[0].write.finish();
  await settle();
  calls[1].write.fail(new Error("unique_violation"));
  await assert.rejects(second, /unique_violation/);
  await assert.rejects(third, /unique_violation/);
  const fourth = batcher.add([4]);
  await settle();
  assert.deepEqual(calls.at(-1)!.rows, [4], "the writer is free again after a failure");
  calls.at(-1)!.write.finish();
  await fourth;
});

Deno.test("batcher: a write that throws before it starts fails its pages and frees its place", async () => {
  const written: number[][] = [];
  const batcher = new Batcher<number>((rows) => {
    if (rows.includes(0)) throw new Error("bad row");
    written.push(rows);
    return Promise.resolve();
  }, 1);
  await assert.rejects(batcher.add([0]), /bad row/);
  await batcher.add([1]);
  assert.deepEqual(written, [[1]], "the next page was written at once: the failed write holds no place");
});

Deno.test("batcher: each caller gets the result of the write that held its items", async () => {
  const { calls, write } = recordedWrites();
  const results: string[][] = [];
  const batcher = new Batcher<number, string[]>((items) => {
    const w = write(items);
    return w.then(() => items.map(String));
  }, 1);
  const first = batcher.add([1]).then((r) => results.push(r));
  const second = batcher.add([2]).then((r) => results.push(r));
  const third = batcher.add([3]).then((r) => results.push(r));
  calls[0].write.finish();
  await settle();
  calls[1].write.finish();
  await Promise.all([first, second, third]);
  assert.deepEqual(results, [["1"], ["2", "3"], ["2", "3"]], "the two that waited share the second write's answer");
});
