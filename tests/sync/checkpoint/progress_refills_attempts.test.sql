-- A checkpoint that moves the cursor sets attempts back to 1: max_attempts bounds runs
-- in a row without progress, so a resumable job killed now and then keeps going, while
-- one that never moves its cursor still fails.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'backfill') as job \gset
update sync.jobs set max_attempts = 2 where id = :'job';

-- Kills the current run: its lease runs out and reset_stale rescues it.
create function pg_temp.kill_run(job uuid) returns void language sql as $$
  update sync.jobs set lease_expires_at = now() - interval '1 second' where id = job;
  select sync.reset_stale();
$$;

-- Three runs, each claimed, each moving the cursor, each killed: with max_attempts 2
-- the third claim would have failed the job before.
select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"page": 1}'::jsonb, '{}'::jsonb);
select pg_temp.kill_run(:'job');
select lease_token as token from sync.claim(:'provider', 'w') \gset
select is((select attempts from sync.jobs where id = :'job'), 2, 'the second run is attempt 2');
select sync.checkpoint(:'job', :'token', '{"page": 2}'::jsonb, '{}'::jsonb);
select is((select attempts from sync.jobs where id = :'job'), 1, 'a checkpoint that moves the cursor sets attempts back to 1');
select pg_temp.kill_run(:'job');
select is((select status::text from sync.jobs where id = :'job'), 'queued', 'killed after progress, the job is queued again');

select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"page": 2}'::jsonb, '{"done": 5}'::jsonb);
select is((select attempts from sync.jobs where id = :'job'), 2, 'the same cursor again refills nothing');
select sync.checkpoint(:'job', :'token', null, '{"done": 6}'::jsonb);
select is((select attempts from sync.jobs where id = :'job'), 2, 'nor does a checkpoint without a cursor');

select pg_temp.kill_run(:'job');
select is((select status::text from sync.jobs where id = :'job'), 'failed', 'max_attempts runs in a row without progress fail the job');

select * from finish();
rollback;
