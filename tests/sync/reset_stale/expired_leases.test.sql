-- reset_stale requeues running jobs whose lease expired, from their last checkpoint;
-- live leases and finished jobs are untouched; a job out of attempts fails.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(7);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'crashed') as crashed \gset
select sync.enqueue(:'conn', 'alive') as alive \gset
select sync.enqueue(:'conn', 'doomed') as doomed \gset
update sync.jobs set max_attempts = 1 where id = :'doomed';
select sync.claim(:'provider', 'w', 3);
select sync.checkpoint(:'crashed', (select lease_token from sync.jobs where id = :'crashed'), '{"page": 5}'::jsonb, '{}'::jsonb);
update sync.jobs set lease_expires_at = now() - interval '1 second' where id in (:'crashed', :'doomed');

select is(sync.reset_stale(), 2, 'two expired leases are reset');
select is((select status::text from sync.jobs where id = :'crashed'), 'queued', 'the crashed job is queued again');
select is((select cursor from sync.jobs where id = :'crashed'), '{"page": 5}'::jsonb, 'from its last checkpoint');
select is((select status::text from sync.jobs where id = :'alive'), 'running', 'a live lease is left alone');
select is((select status::text from sync.jobs where id = :'doomed'), 'failed', 'a job out of attempts fails');
select is((select event from sync.job_events where job_id = :'crashed' order by id desc limit 1), 'lease_expired', 'logged');
select is(sync.reset_stale(), 0, 'nothing left to reset');

select * from finish();
rollback;
