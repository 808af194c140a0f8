-- sync.dispatch: wake the workers of providers that have runnable jobs, one
-- `net.http_post` per provider to <project url>/functions/v1/sync-<provider>.
--
-- pg_net sends only after the calling transaction commits, so a worker never wakes to
-- a job it cannot see yet. The project URL and the worker secret come from Vault
-- (secrets `tributary_project_url` and `tributary_worker_secret`), the way Supabase's
-- own recipe for cron-calls-a-function keeps them; nothing secret is in this code.
create function sync.wake_workers(provider text, warn_if_unconfigured boolean) returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  project_url text;
  worker_secret text;
  woken integer := 0;
  target text;
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

  for target in
    select p.name from sync.providers p
    where p.enabled
      and (wake_workers.provider is null or p.name = wake_workers.provider)
      and exists (
        select 1 from sync.jobs j where j.provider = p.name and j.status = 'queued' and j.run_at <= now()
      )
  loop
    perform net.http_post(
      url := rtrim(project_url, '/') || '/functions/v1/sync-' || target,
      body := '{}'::jsonb,
      headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || worker_secret),
      timeout_milliseconds := 30000
    );
    woken := woken + 1;
  end loop;
  return woken;
end
$$;

create function sync.dispatch(provider text default null) returns integer
language sql
volatile
security definer
set search_path = ''
as $$ select sync.wake_workers(provider, true) $$;

-- The instant wake-up: enqueueing wakes each provider involved once per transaction,
-- however many rows and however many statements (each sync.enqueue call is its own
-- INSERT): the providers already woken are remembered in a transaction-local setting.
-- One wake-up suffices, as pg_net sends it after commit, when every job is visible.
-- Where the Vault secrets are not set yet it stays quiet (the tick's dispatch says so).
create function sync.dispatch_on_enqueue() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  woken text[] := coalesce(nullif(current_setting('sync.woken_providers', true), ''), '{}')::text[];
  target text;
begin
  for target in select distinct n.provider from new_rows n where n.provider <> all (woken) loop
    perform sync.wake_workers(target, false);
    woken := woken || target;
  end loop;
  perform set_config('sync.woken_providers', woken::text, true);
  return null;
end
$$;

create trigger jobs_dispatch_on_enqueue
after insert on sync.jobs
referencing new table as new_rows
for each statement execute function sync.dispatch_on_enqueue();
