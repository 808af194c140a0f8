-- complete_many completes a batch in one call: only jobs under their current lease,
-- with each connection's watermark moved and every completion logged and announced.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as conn_a \gset
select pg_temp.make_connection(:'owner', :'provider') as conn_b \gset
select sync.enqueue(:'conn_a') as a \gset
select sync.enqueue(:'conn_b') as b \gset
select sync.enqueue(:'conn_b', 'full') as c \gset
create temporary table claimed as select id, lease_token from sync.claim(:'provider', 'w', 3);
select count(*) as before_messages from realtime.messages \gset

select is(
  (select count(*)::int from sync.complete_many(
     array(select id from claimed order by id),
     array(select case when id = :'c' then gen_random_uuid() else lease_token end from claimed order by id),
     '{"rows": 1}'::jsonb,
     array(select jsonb_build_object('end', id) from claimed order by id))),
  2, 'the two jobs with their current lease complete; the stale one does not');
select is((select status::text from sync.jobs where id = :'c'), 'running', 'the job with a stale token is untouched');
select is((select high_watermark from sync.connections where id = :'conn_a'), jsonb_build_object('end', :'a'::uuid),
  'each job''s final cursor becomes its connection''s watermark');
select is((select count(*)::int from sync.job_events where job_id in (:'a', :'b') and event = 'succeeded'), 2, 'both are logged');
select is((select count(*)::int - :before_messages from realtime.messages), 4, 'and announced on two topics each');
select is((select count(*)::int from sync.complete_many(array[:'a'::uuid], array[gen_random_uuid()])), 0,
  'a finished job cannot be completed again');

select * from finish();
rollback;
