-- Operator functions are for service_role (and the SQL editor's postgres) only.
-- Functions are executable by PUBLIC by default, so each is revoked first.
do $$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure from pg_proc p
    where p.pronamespace = 'sync'::regnamespace and p.proname not in ('is_admin', 'try_uuid')
  loop
    execute format('revoke all on function %s from public, anon, authenticated', fn);
    execute format('grant execute on function %s to service_role', fn);
  end loop;
end
$$;

-- The tick now also does the queue's periodic duties: rescue stale leases, enqueue
-- due schedules, and wake workers that have runnable jobs (the safety net behind the
-- instant wake-up on enqueue).
create or replace function sync.tick() returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update sync.settings set last_tick_at = now();
  perform sync.reset_stale();
  perform sync.schedule_due();
  perform sync.dispatch();
end
$$;

do $$
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('tributary-cleanup', '17 3 * * *', 'select sync.cleanup()');
  end if;
end
$$;
