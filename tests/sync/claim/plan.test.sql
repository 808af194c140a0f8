-- A claim reads a handful of rows, not the queue, even when the planner's statistics
-- were taken while nothing was queued (as after a vacuum analyze of a drained queue).
-- Regression: the claim's UPDATE once rechecked status = 'queued', which let the
-- planner scan a partial index of queued jobs for the claimed ids: the whole queue per
-- claim, a quarter of the throughput.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(2);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
insert into sync.jobs (owner_id, connection_id, provider, kind, status, finished_at)
select c.owner_id, c.id, c.provider, 'done-' || i, 'succeeded', now()
from sync.connections c, generate_series(1, 2000) i where c.id = :'conn';
analyze sync.jobs;
select sync.enqueue(:'conn', 'k' || i) from generate_series(1, 500) i;

select idx_tup_fetch as before from pg_stat_xact_user_tables where relid = 'sync.jobs'::regclass \gset
select is((select count(*)::int from sync.claim(:'provider', 'w', 1)), 1, 'the claim gets a job');
select cmp_ok(
  (select idx_tup_fetch from pg_stat_xact_user_tables where relid = 'sync.jobs'::regclass) - :before, '<', 20::bigint,
  'and fetches a few rows by index, not the 500 queued'
);

select * from finish();
rollback;
