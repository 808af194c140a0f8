// The globals Supabase's edge runtime gives every function.
declare namespace EdgeRuntime {
  /** Keeps the worker alive until the promise settles, after the response is sent. */
  function waitUntil<T>(promise: Promise<T>): Promise<T>;
}
