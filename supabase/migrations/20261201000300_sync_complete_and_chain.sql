-- sync.complete_and_chain: a worker completes a job and enqueues its follow-up (a
-- Spotify sync's daily-summary, an ad sync's campaign totals), atomically: the follow-up
-- exists if and only if the completion went through, that is if the worker still held
-- the lease. It is one statement for the worker, where a transaction around complete and
-- enqueue was four round trips, and small jobs are mostly round trips.
--
-- It does not wake a worker for the follow-up. Its caller is a worker that claims again
-- as soon as it is done (worker.ts loops until nothing is runnable or its time budget is
-- spent, and dispatches when the budget ends the loop), so it is itself that wake-up.
-- Sending one anyway cost a wake_workers call per job (two Vault reads and an
-- http_post) and an invocation that mostly found the job claimed already. The provider
-- is marked woken for this transaction, the way sync.dispatch_on_enqueue marks the
-- providers it has woken. Should the worker die right after committing, the tick's
-- dispatch finds the follow-up.
create function sync.complete_and_chain(
  job_id uuid,
  lease_token uuid,
  stats jsonb,
  cursor jsonb,
  follow_up text,
  follow_up_params jsonb default '{}'::jsonb
) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  job_provider text;
  job_connection uuid;
  woken text[];
begin
  if not sync.complete(job_id, lease_token, stats, cursor) then
    return false;
  end if;
  if follow_up is not null then
    select j.provider, j.connection_id into job_provider, job_connection from sync.jobs j where j.id = complete_and_chain.job_id;
    woken := coalesce(nullif(current_setting('sync.woken_providers', true), ''), '{}')::text[];
    perform set_config('sync.woken_providers', (woken || job_provider)::text, true);
    perform sync.enqueue(job_connection, follow_up, coalesce(follow_up_params, '{}'::jsonb));
  end if;
  return true;
end
$$;

revoke all on function sync.complete_and_chain(uuid, uuid, jsonb, jsonb, text, jsonb) from public, anon, authenticated;
grant execute on function sync.complete_and_chain(uuid, uuid, jsonb, jsonb, text, jsonb) to service_role;
