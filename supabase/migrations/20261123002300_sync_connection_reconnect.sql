-- A connection whose credentials the upstream refused for good (a revoked OAuth
-- grant, an invalid token) needs its user to reconnect the account. The worker records
-- why; schedules stop enqueueing for it, since every run would fail the same way; and
-- new credentials (PATCH /connections/:id in sync-api) clear it.
alter table sync.connections add column reconnect_reason text;

comment on column sync.connections.reconnect_reason is
  'Why the user must reconnect this account (the upstream refused its credentials for good); null while they work.';

-- As before, but connections that need reconnecting are skipped rather than run into the
-- same refusal on every cadence.
create or replace function sync.schedule_due() returns integer
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
    where c.auto_sync and c.reconnect_reason is null and coalesce(c.next_sync_at, '-infinity') <= now()
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
