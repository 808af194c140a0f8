-- A rate-limit failure waits exactly retry_after_seconds and gives the attempt back.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
update sync.jobs set max_attempts = 1 where id = :'job';
select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"page": 7}'::jsonb, '{}'::jsonb);

select ok(sync.fail(:'job', :'token', '429 Too Many Requests', true, 30), 'fail with retry_after succeeds');
select is((select status::text from sync.jobs where id = :'job'), 'queued', 'queued, not failed, even on its last attempt');
select is((select run_at from sync.jobs where id = :'job'), now() + interval '30 seconds', 'after exactly the stated wait');
select is((select attempts from sync.jobs where id = :'job'), 0, 'the attempt is given back');
select is((select cursor from sync.jobs where id = :'job'), '{"page": 7}'::jsonb, 'the cursor is kept');

select * from finish();
rollback;
