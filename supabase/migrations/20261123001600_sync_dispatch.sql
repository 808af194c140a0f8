-- sync.dispatch: wake the workers of providers that have runnable jobs, one
-- `net.http_post` per provider to <project url>/functions/v1/sync-<provider>.
--
-- pg_net sends only after the calling transaction commits, so a worker never wakes to
-- a job it cannot see yet. The project URL and the worker secret come from Vault
-- (secrets `tributary_project_url` and `tributary_worker_secret`), the way Supabase's
-- own recipe for cron-calls-a-function keeps them; nothing secret is in this code.
create function sync.dispatch(provider text default null) returns integer
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
    raise warning 'sync.dispatch: Vault secrets tributary_project_url and tributary_worker_secret are not set; '
      'create them with vault.create_secret (see README)';
    return 0;
  end if;

  for target in
    select p.name from sync.providers p
    where p.enabled
      and (dispatch.provider is null or p.name = dispatch.provider)
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
