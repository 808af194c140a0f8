-- claim hands out jobs by priority, then lane, then run_at; never a job not yet due.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'old', run_at => now() - interval '2 minutes') as old \gset
select sync.enqueue(:'conn', 'new', run_at => now() - interval '1 minute') as new \gset
select sync.enqueue(:'conn', 'urgent', run_at => now(), priority => 10) as urgent \gset
select sync.enqueue(:'conn', 'later', run_at => now() + interval '1 hour') as later \gset
-- All four share one owner, so lanes are 1..4 in enqueue order; priority still wins.
update sync.jobs set lane = 1 where connection_id = :'conn';

select is((select id from sync.claim(:'provider', 'w')), :'urgent'::uuid, 'the highest priority first');
select is((select id from sync.claim(:'provider', 'w')), :'old'::uuid, 'then the oldest run_at');
select is((select id from sync.claim(:'provider', 'w')), :'new'::uuid, 'then the next');
select is((select count(*)::int from sync.claim(:'provider', 'w', 10)), 0, 'a job due later is not claimed');
select is((select status::text from sync.jobs where id = :'later'), 'queued', 'and stays queued');
select is((select count(*)::int from sync.claim(:'provider', 'w', 0)), 0, 'max_jobs 0 claims nothing');

select * from finish();
rollback;
