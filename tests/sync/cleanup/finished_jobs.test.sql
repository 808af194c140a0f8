-- cleanup deletes finished jobs (and their events) older than the window, nothing else.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'old') as old \gset
select sync.enqueue(:'conn', 'recent') as recent \gset
select sync.enqueue(:'conn', 'waiting') as waiting \gset
select sync.cancel(:'old');
select sync.cancel(:'recent');
update sync.jobs set finished_at = now() - interval '8 days' where id = :'old';
update sync.jobs set created_at = now() - interval '30 days' where id = :'waiting';

select is(sync.cleanup(), 1, 'one job is older than 7 days');
select is((select count(*)::int from sync.jobs where id = :'old'), 0, 'the old finished job is gone');
select is((select count(*)::int from sync.job_events where job_id = :'old'), 0, 'with its events');
select is((select count(*)::int from sync.jobs where id in (:'recent', :'waiting')), 2, 'recent and unfinished jobs stay');
select throws_ok($$ select sync.cleanup('-1 day') $$, '22023', null, 'a negative window is refused');

select * from finish();
rollback;
