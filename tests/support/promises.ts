/** Promises a test settles by hand. */

/** A write the test finishes by hand. */
export function manualWrite() {
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  promise.catch(() => {});
  return { promise, finish, fail };
}

/** Settles pending promise callbacks, so a test can see what is still waiting. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
