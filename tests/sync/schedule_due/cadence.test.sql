-- schedule_due enqueues for auto-sync connections whose cadence came round, with their
-- lookback window, and moves their next time on.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(7);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as due \gset
select pg_temp.make_connection(:'owner', :'provider') as not_yet \gset
select pg_temp.make_connection(:'owner', :'provider') as manual \gset
-- Only this test's connections are due: others in the database are pushed out.
update sync.connections set next_sync_at = now() + interval '1 day' where auto_sync and provider <> :'provider';
update sync.connections set auto_sync = true, cadence = '6 hours', lookback_days = 3, next_sync_at = now() - interval '1 minute'
where id = :'due';
update sync.connections set auto_sync = true, next_sync_at = now() + interval '1 hour' where id = :'not_yet';

select is(sync.schedule_due(), 1, 'one connection is due');
select is((select count(*)::int from sync.jobs where connection_id = :'due'), 1, 'it gets a job');
select is((select params ->> 'lookback_days' from sync.jobs where connection_id = :'due'), '3', 'with its lookback window');
select is((select params ->> 'since' from sync.jobs where connection_id = :'due'),
  to_char((now() - interval '3 days') at time zone 'utc', 'YYYY-MM-DD'), 'as a start date');
select is((select next_sync_at from sync.connections where id = :'due'), now() + interval '6 hours', 'next time is one cadence on');
select is((select count(*)::int from sync.jobs where connection_id in (:'not_yet', :'manual')), 0, 'the others get nothing');
select is(sync.schedule_due(), 0, 'running it again schedules nothing');

select * from finish();
rollback;
