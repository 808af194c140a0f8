import { db } from "./database.ts";
import { HttpError } from "./http.ts";

/**
 * sync.retry, then a wake-up: the instant wake-up fires on new jobs only, and a retried
 * job is an old one queued again.
 * sync-api (owners) and sync-admin (operators) both retry through here.
 */
export async function retryJob(id: string, provider: string) {
  try {
    const [{ job_id }] = await db()`select sync.retry(${id}) as job_id`;
    await db()`select sync.dispatch(${provider})`;
    return { job_id, retried: true };
  } catch (e) {
    if ((e as { code?: string }).code === "55000") {
      throw new HttpError(409, "not_retryable", (e as Error).message);
    }
    throw e;
  }
}
