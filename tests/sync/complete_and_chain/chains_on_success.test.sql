-- complete_and_chain completes the job and enqueues its follow-up in the same
-- transaction, and wakes nobody for it: the completing worker claims again.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.use_test_dispatch_secrets();
select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset
select coalesce(max(id), 0) as before from net.http_request_queue \gset

select ok(sync.complete_and_chain(:'job', :'token', '{"rows": 3}'::jsonb, '{"after": 9}'::jsonb, 'summary', '{"n": 1}'::jsonb),
  'the completion goes through');
select is((select status::text from sync.jobs where id = :'job'), 'succeeded', 'the job succeeded');
select is((select high_watermark from sync.connections where id = :'conn'), '{"after": 9}'::jsonb,
  'its cursor is the high-watermark, as with sync.complete');
select results_eq(
  $$select kind, status::text, params from sync.jobs where connection_id = '$$ || :'conn' || $$' and id <> '$$ || :'job' || $$'$$,
  $$values ('summary', 'queued', '{"n": 1}'::jsonb)$$,
  'the follow-up is queued with its params');
select is((select count(*)::int from net.http_request_queue where id > :'before'), 0,
  'no wake-up for it: the completing worker is awake');

-- Without a follow-up it is sync.complete.
select sync.enqueue(:'conn', 'other') as plain \gset
select lease_token as plain_token from sync.claim(:'provider', 'w', 2) where id = :'plain' \gset
select is(
  (select sync.complete_and_chain(:'plain', :'plain_token', '{}'::jsonb, null, null)
     and (select count(*) from sync.jobs where connection_id = :'conn') = 3),
  true, 'no follow-up asked, none enqueued');

select * from finish();
rollback;
