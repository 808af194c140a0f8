-- sync.fail: a worker's attempt failed. Decides between three outcomes:
--
--   * permanent (retryable = false), or out of attempts: `failed`, for good;
--   * rate-limited (retry_after_seconds given): queued again after exactly that wait,
--     and the attempt is given back: being told to slow down is not a failure;
--   * otherwise: queued again after an exponential backoff with jitter.
--
-- Backoff is "equal jitter": half of min(cap, base * 2^(attempt-1)) plus a random
-- share of the other half. The ranges of successive attempts do not overlap, so the
-- wait always grows, yet workers retrying together spread out.
create function sync.retry_delay(attempt integer) returns interval
language sql
volatile
set search_path = ''
as $$
  select make_interval(secs => d / 2 + random() * d / 2)
  from (select least(3600.0, 5.0 * power(2, greatest(attempt, 1) - 1)) as d) x
$$;

create function sync.fail(
  job_id uuid,
  lease_token uuid,
  error text,
  retryable boolean default true,
  retry_after_seconds integer default null
) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  job sync.jobs;
  outcome text;
begin
  select * into job from sync.jobs j
  where j.id = fail.job_id and j.lease_token = fail.lease_token and j.status = 'running'
  for update;
  if not found then
    return false;
  end if;

  outcome := case
    when not coalesce(fail.retryable, true) then 'failed'
    when fail.retry_after_seconds is not null then 'rate_limited'
    when job.attempts >= job.max_attempts then 'failed'
    else 'retry_scheduled'
  end;

  update sync.jobs j
  set status = case when outcome = 'failed' then 'failed'::sync.job_status else 'queued'::sync.job_status end,
      run_at = case outcome
        when 'rate_limited' then now() + make_interval(secs => greatest(fail.retry_after_seconds, 0))
        when 'retry_scheduled' then now() + sync.retry_delay(job.attempts)
        else j.run_at
      end,
      attempts = case when outcome = 'rate_limited' then greatest(j.attempts - 1, 0) else j.attempts end,
      last_error = fail.error,
      lease_token = null,
      lease_expires_at = null,
      finished_at = case when outcome = 'failed' then now() end,
      progress = j.progress || jsonb_build_object('phase', case when outcome = 'failed' then 'failed' else 'waiting' end),
      updated_at = now()
  where j.id = job.id
  returning j.* into job;

  if outcome = 'failed' then
    update sync.connections c
    set consecutive_failures = c.consecutive_failures + 1, updated_at = now()
    where c.id = job.connection_id;
  end if;

  insert into sync.job_events (job_id, owner_id, event, status, attempt, message, data)
  values (job.id, job.owner_id, outcome, job.status, job.attempts, fail.error,
          jsonb_build_object('retryable', fail.retryable, 'retry_after_seconds', fail.retry_after_seconds,
                             'run_at', job.run_at));
  return true;
end
$$;
