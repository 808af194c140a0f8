-- cancel works on queued and running jobs, and leaves finished ones alone.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'a') as queued_job \gset

select ok(sync.cancel(:'queued_job'), 'a queued job is cancelled');
select is((select count(*)::int from sync.claim(:'provider', 'w')), 0, 'and is never claimed');
select ok(not sync.cancel(:'queued_job'), 'cancelling twice returns false');
select ok(not sync.cancel(gen_random_uuid()), 'an unknown job returns false');
select is((select event from sync.job_events where job_id = :'queued_job' order by id desc limit 1), 'cancelled', 'logged');

select * from finish();
rollback;
