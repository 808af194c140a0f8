-- dispatch wakes one worker per job that could be claimed now: up to the runnable jobs,
-- the provider's free concurrency, and 8 a call.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.use_test_dispatch_secrets();

-- Capped at 2, with 5 jobs queued.
select pg_temp.make_provider(cap => 2) as capped \gset
select sync.enqueue(pg_temp.make_connection(pg_temp.make_owner(), :'capped'), 'k' || i) from generate_series(1, 5) i;
select is(sync.dispatch(:'capped'), 2, 'no more wake-ups than the cap allows');

select count(*) from sync.claim(:'capped', 'w', 1);
select is(sync.dispatch(:'capped'), 1, 'a running job takes its place in the cap');

select count(*) from sync.claim(:'capped', 'w', 1);
select is(sync.dispatch(:'capped'), 0, 'at the cap, nobody is woken: the running workers dispatch when they finish');

-- No cap, 20 jobs queued: 8 at a time.
select pg_temp.make_provider() as open \gset
select sync.enqueue(pg_temp.make_connection(pg_temp.make_owner(), :'open'), 'k' || i) from generate_series(1, 20) i;
select is(sync.dispatch(:'open'), 8, 'at most 8 wake-ups a call');

-- Jobs not yet due wake nobody.
select pg_temp.make_provider() as later \gset
select sync.enqueue(pg_temp.make_connection(pg_temp.make_owner(), :'later'), 'k', '{}', now() + interval '1 hour');
select is(sync.dispatch(:'later'), 0, 'a job due later wakes nobody now');

select pg_temp.make_provider(cap => 4) as one \gset
select sync.enqueue(pg_temp.make_connection(pg_temp.make_owner(), :'one'), 'k');
select is(sync.dispatch(:'one'), 1, 'one runnable job, one wake-up');

select * from finish();
rollback;
