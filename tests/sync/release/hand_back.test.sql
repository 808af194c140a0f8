-- release hands a running job back to the queue: cursor kept, attempt given back.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider() as provider \gset
select sync.enqueue(pg_temp.make_connection(pg_temp.make_owner(), :'provider')) as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"page": 3}'::jsonb, '{"done": 3}'::jsonb);

select ok(not sync.release(:'job', gen_random_uuid()), 'a stale token cannot release');
select ok(sync.release(:'job', :'token'), 'the lease holder releases');
select is((select status::text || '/' || attempts from sync.jobs where id = :'job'), 'queued/0', 'queued, attempt given back');
select is((select cursor from sync.jobs where id = :'job'), '{"page": 3}'::jsonb, 'the cursor is kept');
select is((select id from sync.claim(:'provider', 'w')), :'job'::uuid, 'and it is runnable at once');

select * from finish();
rollback;
