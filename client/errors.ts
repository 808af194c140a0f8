/**
 * Every failure the client reports is a SyncError: the HTTP status and the contract's
 * `{error: {code, message}}` from the function, or status 0 when the stack could not be
 * reached at all. `message` is the server's own, which already says what was wrong.
 */
export class SyncError extends Error {
  constructor(
    /** HTTP status, or 0 when no answer came back. */
    readonly status: number,
    /** The contract's error code: `invalid_request`, `not_found`, `cooldown`, ... */
    readonly code: string,
    message: string,
    /** Seconds to wait, when the server said so (429 cooldowns and rate limits). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "SyncError";
  }

  /** The caller is not signed in, or their token expired or was forged. */
  get unauthenticated(): boolean {
    return this.status === 401;
  }

  /** The caller is signed in but not allowed (an admin route without the admin role). */
  get forbidden(): boolean {
    return this.status === 403;
  }
}
