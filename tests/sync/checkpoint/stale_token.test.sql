-- A worker whose lease moved on is refused everywhere, and writes nothing.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(7);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as old_token from sync.claim(:'provider', 'slow-worker') \gset
select sync.checkpoint(:'job', :'old_token', '{"page": 1}'::jsonb, '{"done": 1}'::jsonb);

-- Its lease expires, the job is rescued and claimed by another worker.
update sync.jobs set lease_expires_at = now() - interval '1 second' where id = :'job';
select sync.reset_stale();
select lease_token as new_token from sync.claim(:'provider', 'fresh-worker') \gset

select ok(not sync.checkpoint(:'job', :'old_token', '{"page": 99}'::jsonb, '{"done": 99}'::jsonb), 'old token: checkpoint refused');
select ok(not sync.complete(:'job', :'old_token'), 'old token: complete refused');
select ok(not sync.fail(:'job', :'old_token', 'boom'), 'old token: fail refused');
select is((select cursor from sync.jobs where id = :'job'), '{"page": 1}'::jsonb, 'the cursor is the last good checkpoint');
select is((select status::text || '/' || worker from sync.jobs where id = :'job'), 'running/fresh-worker', 'the new worker keeps the job');
select ok(sync.complete(:'job', :'new_token', '{"rows": 5}'::jsonb), 'the current token completes');
select ok(not sync.checkpoint(:'job', :'new_token', '{}'::jsonb, '{}'::jsonb), 'after completion even the current token is refused');

select * from finish();
rollback;
