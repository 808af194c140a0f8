/**
 * Group commit: items written in batches, with at most `maxWrites` writes in flight.
 * The items that come while every write is busy go out together in the next one. The
 * batches grow only when the database is the slower side, which is when their size
 * pays; with the database keeping up, each item is still written at once, so nothing
 * waits for a batch to fill.
 *
 * Used for an ad sync's pages (73,000 rows in COPYs of 500, two at a time, took the
 * database 1.15 to 1.35 s of CPU, and in COPYs of 2,000 1.06 to 1.20 s), for small
 * jobs' rows, and for the completions of jobs run side by side (worker.ts), where the
 * cost is per statement rather than per row.
 *
 * `add` resolves with what the write of the batch holding the items returned, and
 * rejects when it fails. Items keep their order: a batch holds the items added since the
 * one before it started.
 */
export class Batcher<Item, Result = void> {
  #inFlight = 0;
  #waiting: { items: Item[]; written: Promise<Result>; resolve: (r: Result) => void; reject: (e: unknown) => void } | null =
    null;

  constructor(private readonly write: (items: Item[]) => Promise<Result>, private readonly maxWrites = 2) {}

  add(items: readonly Item[]): Promise<Result> {
    if (this.#inFlight < this.maxWrites) return this.#start([...items]);
    if (!this.#waiting) {
      let resolve!: (r: Result) => void, reject!: (e: unknown) => void;
      const written = new Promise<Result>((res, rej) => ((resolve = res), (reject = rej)));
      this.#waiting = { items: [], written, resolve, reject };
    }
    for (const item of items) this.#waiting.items.push(item);
    return this.#waiting.written;
  }

  #start(items: Item[]): Promise<Result> {
    this.#inFlight++;
    let written: Promise<Result>;
    try {
      written = this.write(items);
    } catch (e) {
      // A write that throws before it starts still frees its place and fails its items.
      written = Promise.reject(e);
    }
    const next = () => {
      this.#inFlight--;
      const waiting = this.#waiting;
      this.#waiting = null;
      if (waiting) this.#start(waiting.items).then(waiting.resolve, waiting.reject);
    };
    written.then(next, next);
    return written;
  }
}
