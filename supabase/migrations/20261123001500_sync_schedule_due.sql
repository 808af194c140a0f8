-- sync.schedule_due: enqueue an incremental job for every auto-sync connection whose
-- cadence has come round, with its lookback window in params, and set its next time.
-- Called by the pg_cron tick; returns how many connections were scheduled.
--
-- A connection already syncing keeps its job (enqueue dedupes) but still moves its
-- next time on, so a slow sync is not stacked up behind by the scheduler.
create function sync.schedule_due() returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  conn record;
  scheduled integer := 0;
begin
  for conn in
    select c.id, c.cadence, c.lookback_days
    from sync.connections c
    join sync.providers p on p.name = c.provider and p.enabled
    where c.auto_sync and coalesce(c.next_sync_at, '-infinity') <= now()
    order by c.next_sync_at nulls first
    for update of c skip locked
  loop
    perform sync.enqueue(
      conn.id,
      'incremental',
      jsonb_build_object(
        'lookback_days', conn.lookback_days,
        'since', to_char((now() - make_interval(days => conn.lookback_days)) at time zone 'utc', 'YYYY-MM-DD'),
        'scheduled', true
      )
    );
    update sync.connections c set next_sync_at = now() + conn.cadence, updated_at = now() where c.id = conn.id;
    scheduled := scheduled + 1;
  end loop;
  return scheduled;
end
$$;
