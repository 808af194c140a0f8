-- A dispatch wakes as many workers as there are jobs they could claim now, not one.
--
-- A worker invocation claims one job (max_jobs defaults to 1) and dispatches again when
-- it is done. With one wake-up per provider, a provider's jobs therefore ran about one
-- at a time, whatever its max_concurrency allowed: each job waited for the one before it
-- to end and for its wake-up to travel through pg_net and the gateway. That is the
-- shape of apps with many users and small syncs: a Spotify sync writes at most 50 plays,
-- so 200 listeners are 200 jobs, and they took 2.4 s instead of running four at a time.
--
-- Now each provider gets least(runnable, free, 8) wake-ups, where
--   runnable  jobs queued and due (counted up to 8: an index scan that stops early, so a
--             deep queue costs no more than a shallow one; every finishing worker calls
--             this);
--   free      max_concurrency minus the jobs running now; a provider without a cap is
--             given 8 at a time, so that a queue of thousands does not wake thousands;
--   8         the most one call sends.
-- Wake-ups still on their way are not counted as running, so a burst can wake a few more
-- workers than can claim. Those find nothing (sync.claim enforces the cap under its
-- advisory lock), answer at once and dispatch nothing further. A provider whose cap is
-- full gets no wake-up: the running workers dispatch again when they finish, and the
-- tick catches workers that died (sync.reset_stale, then dispatch).
create or replace function sync.wake_workers(provider text, warn_if_unconfigured boolean) returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  fan_out constant integer := 8;
  project_url text;
  worker_secret text;
  woken integer := 0;
  target text;
  wakeups integer;
begin
  if (select s.paused from sync.settings s) then
    return 0;
  end if;
  select decrypted_secret into project_url from vault.decrypted_secrets where name = 'tributary_project_url';
  select decrypted_secret into worker_secret from vault.decrypted_secrets where name = 'tributary_worker_secret';
  if project_url is null or worker_secret is null then
    if warn_if_unconfigured then
      raise warning 'sync.dispatch: Vault secrets tributary_project_url and tributary_worker_secret are not set; '
        'create them with vault.create_secret (see README)';
    end if;
    return 0;
  end if;
  for target, wakeups in
    select p.name,
           least(
             (select count(*) from (
                select 1 from sync.jobs j
                where j.provider = p.name and j.status = 'queued' and j.run_at <= now() limit fan_out
              ) runnable),
             coalesce(p.max_concurrency, fan_out)
               - (select count(*) from sync.jobs j where j.provider = p.name and j.status = 'running')
           )
    from sync.providers p
    where p.enabled
      and (wake_workers.provider is null or p.name = wake_workers.provider)
  loop
    for i in 1 .. wakeups loop
      perform net.http_post(
        url := rtrim(project_url, '/') || '/functions/v1/sync-' || target,
        body := '{}'::jsonb,
        headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || worker_secret),
        timeout_milliseconds := 30000
      );
      woken := woken + 1;
    end loop;
  end loop;
  return woken;
end
$$;
