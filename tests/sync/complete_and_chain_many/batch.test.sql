-- complete_and_chain_many completes a batch in one statement, each job with its own stats,
-- cursor and final progress, chains a follow-up for exactly the jobs it completed, and
-- wakes nobody.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(10);

select pg_temp.use_test_dispatch_secrets();
select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as conn_a \gset
select pg_temp.make_connection(:'owner', :'provider') as conn_b \gset
select pg_temp.make_connection(:'owner', :'provider') as conn_c \gset
select sync.enqueue(:'conn_a') as a \gset
select sync.enqueue(:'conn_b') as b \gset
select sync.enqueue(:'conn_c') as c \gset
create temporary table claimed as select id, lease_token from sync.claim(:'provider', 'w', 3);
select coalesce(max(id), 0) as before_requests from net.http_request_queue \gset
select count(*) as before_messages from realtime.messages \gset

-- a and b chain a summary, c chains nothing, and c's token is stale.
create temporary table completed as
select id from sync.complete_and_chain_many((
  select jsonb_agg(jsonb_build_object(
    'job_id', id,
    'lease_token', case when id = :'c' then gen_random_uuid() else lease_token end,
    'stats', jsonb_build_object('plays', case when id = :'a' then 1 else 2 end),
    'cursor', jsonb_build_object('after', case when id = :'a' then 10 else 20 end),
    'progress', case when id = :'a' then '{"phase": "saving", "done": 7, "total": 7, "message": "7 new plays"}'::jsonb end,
    'follow_up', case when id = :'c' then null else 'summary' end,
    'follow_up_params', jsonb_build_object('after_job', id)))
  from claimed)) as id;

select set_eq('select id from completed', format('values (%L::uuid), (%L::uuid)', :'a', :'b'),
  'the jobs under their current lease complete, and their ids come back');
select is((select status::text from sync.jobs where id = :'c'), 'running', 'the job with a stale token is untouched');
select results_eq(
  format('select stats, high_watermark from sync.jobs j join sync.connections c on c.id = j.connection_id where j.id in (%L, %L) order by j.stats->>''plays''', :'a', :'b'),
  $$values ('{"plays": 1}'::jsonb, '{"after": 10}'::jsonb), ('{"plays": 2}'::jsonb, '{"after": 20}'::jsonb)$$,
  'each job keeps its own stats, and its own cursor becomes its connection''s watermark');
select results_eq(
  format('select progress from sync.jobs where id in (%L, %L) order by id = %L desc', :'a', :'b', :'a'),
  $$values ('{"phase": "done", "percent": 100, "done": 7, "total": 7, "message": "7 new plays"}'::jsonb),
           ('{"phase": "done", "percent": 100, "done": 0, "total": null, "message": null}'::jsonb)$$,
  'the last chunk''s progress is kept as done, with its count and message; without one, the stored one is done');
select results_eq(
  format('select connection_id, kind, status::text, params from sync.jobs where kind = ''summary'' order by connection_id = %L desc', :'conn_a'),
  format('values (%L::uuid, ''summary'', ''queued'', jsonb_build_object(''after_job'', %L::uuid)), (%L::uuid, ''summary'', ''queued'', jsonb_build_object(''after_job'', %L::uuid))',
         :'conn_a', :'a', :'conn_b', :'b'),
  'each completed job''s follow-up is queued with its params');
select is((select count(*)::int from sync.jobs where connection_id = :'conn_c'), 1, 'the job not completed chains nothing');
select set_eq(
  $$select lane from sync.jobs where kind = 'summary'$$, 'values (1), (2)',
  'the owner''s follow-ups take successive places in its line, as sync.enqueue gives them');
select is(
  (select count(*)::int from sync.job_events e join sync.jobs j on j.id = e.job_id
   where (e.job_id in (:'a', :'b') and e.event = 'succeeded') or (j.kind = 'summary' and e.event = 'enqueued')),
  4, 'every completion and every follow-up is logged');
select is((select count(*)::int - :before_messages from realtime.messages), 8,
  'and announced on both topics each');
select is((select count(*)::int from net.http_request_queue where id > :'before_requests'), 0,
  'no wake-up for the follow-ups: the completing worker claims again');

select * from finish();
rollback;
