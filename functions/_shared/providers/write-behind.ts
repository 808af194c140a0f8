/**
 * Pages written behind the reads, and checkpointed in page order.
 *
 * A provider reads the next page while this one's rows are written. Writes go out on
 * the pooled connections, so two pages' writes use two database cores. The cursor must
 * never pass a row that is not stored, so a page's checkpoint waits for its own write,
 * and checkpoints go in page order.
 *
 * Up to `maxUnstored` pages are written or waiting to be (see Batcher, ../batcher.ts, for
 * pages written together). A page with nothing to write (Steam's empty end-of-date page,
 * an empty ad slice) does not take a place, so it cannot make the loop wait for the
 * write before it.
 *
 * When several pages are ready at once, each page's checkpoint function still runs, in
 * page order: an ad slice's clean-up must not be skipped. Only the newest result is
 * yielded, since its cursor covers the pages before it. The same holds for pages stored
 * within `minIntervalMs` of the last checkpoint yielded: a page of a thousand rows takes
 * a few milliseconds, and a checkpoint (a round trip, a job version, two broadcasts)
 * for each would cost more than the progress bar gains.
 *
 * At a crash, the pages past the last checkpoint are read again: the pages stored since
 * it (at most `minIntervalMs` of them), at most `maxUnstored` not stored yet, the pages
 * read ahead, and the empty pages between them.
 */
import type { Chunk } from "../provider.ts";

interface Page {
  settled: boolean;
  checkpoint: () => Promise<Chunk>;
}

export class WriteBehind {
  #pages: Page[] = [];
  /** A checkpoint whose page is stored, held back to be covered by a newer one. */
  #held: Chunk | null = null;
  #yieldedAt = -Infinity;

  /**
   * `minIntervalMs` spaces the checkpoints yielded: a page stored sooner after the last
   * one is covered by the next checkpoint instead of one of its own.
   */
  constructor(private readonly maxUnstored = 2, private readonly minIntervalMs = 0) {}

  /**
   * Adds a page that was read: its write, already started (null when it writes
   * nothing), and its checkpoint, which awaits that write.
   */
  add(write: Promise<unknown> | null, checkpoint: () => Promise<Chunk>): void {
    const page: Page = { settled: write === null, checkpoint };
    // A failed write settles too: the checkpoint that awaits it throws.
    write?.then(() => (page.settled = true), () => (page.settled = true));
    this.#pages.push(page);
  }

  /**
   * The checkpoint to yield now, or null. It waits only while `maxUnstored` pages are not
   * stored; pages whose writes are already stored are checkpointed straight away.
   */
  async due(): Promise<Chunk | null> {
    await this.#take(() => this.#pages[0].settled || this.#unstored() >= this.maxUnstored);
    if (performance.now() - this.#yieldedAt < this.minIntervalMs) return null;
    return this.#release();
  }

  /** The checkpoint of every page added: for the end of the run. */
  async drain(): Promise<Chunk | null> {
    await this.#take(() => true);
    return this.#release();
  }

  async #take(ready: () => boolean): Promise<void> {
    while (this.#pages.length > 0 && ready()) this.#held = await this.#pages.shift()!.checkpoint();
  }

  #release(): Chunk | null {
    const newest = this.#held;
    this.#held = null;
    if (newest) this.#yieldedAt = performance.now();
    return newest;
  }

  #unstored(): number {
    return this.#pages.filter((p) => !p.settled).length;
  }
}
