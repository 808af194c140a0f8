-- The `sync` schema's first pieces: the global settings row and the scheduler tick.
--
-- sync.settings is a single row (the primary key is the constant `true`) so that the
-- pause switch and alert settings have exactly one place to live.

create schema if not exists sync;
create schema if not exists synced;
grant usage on schema sync to authenticated, service_role;
grant usage on schema synced to authenticated, service_role;

create table sync.settings (
  singleton boolean primary key default true check (singleton),
  paused boolean not null default false,
  paused_reason text,
  paused_at timestamptz,
  -- Name of the Vault secret that holds the alert webhook URL (never the URL itself).
  alert_webhook_secret_name text,
  alert_failure_threshold integer not null default 3 check (alert_failure_threshold > 0),
  -- Set by sync.tick(); an old value means pg_cron has stopped calling us.
  last_tick_at timestamptz,
  updated_at timestamptz not null default now()
);
insert into sync.settings default values;

alter table sync.settings enable row level security;
revoke all on sync.settings from anon, authenticated;
grant select, update on sync.settings to service_role;

-- The scheduler's heartbeat, called by pg_cron. It records that the schedule is alive;
-- the queue's periodic duties (dispatch, stale leases, due schedules) join it here.
create function sync.tick() returns void
language sql
security definer
set search_path = ''
as $$
  update sync.settings set last_tick_at = now();
$$;
revoke all on function sync.tick() from public, anon, authenticated;
grant execute on function sync.tick() to service_role;

-- Every 10 seconds where pg_cron understands second schedules (1.5+, as on hosted
-- Supabase), every minute where it does not (Debian's 1.4).
do $$
begin
  if not exists (select from pg_extension where extname = 'pg_cron') then
    raise notice 'pg_cron is not enabled: sync.tick() will not be scheduled';
    return;
  end if;
  begin
    perform cron.schedule('tributary-tick', '10 seconds', 'select sync.tick()');
  exception when others then
    perform cron.schedule('tributary-tick', '* * * * *', 'select sync.tick()');
  end;
end
$$;
