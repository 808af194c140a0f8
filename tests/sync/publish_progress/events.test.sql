-- Job changes are broadcast as `progress` on sync:job:<id> and sync:user:<owner>;
-- a checkpoint that changes nothing visible sends nothing.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(7);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset

select is((select count(*)::int from realtime.messages where topic = 'sync:job:' || :'job' and event = 'progress'), 1,
  'enqueue sends progress to the job topic');
select is((select count(*)::int from realtime.messages where topic = 'sync:user:' || :'owner' and event = 'progress'), 1,
  'and to the owner topic');
select ok((select bool_and(private) from realtime.messages where topic = 'sync:job:' || :'job'), 'on private channels');

select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"p": 1}'::jsonb, '{"done": 1, "total": 4}'::jsonb);
select sync.checkpoint(:'job', :'token', '{"p": 1}'::jsonb, '{"done": 1, "total": 4}'::jsonb);
select is((select count(*)::int from realtime.messages where topic = 'sync:job:' || :'job'), 3,
  'claim and the first checkpoint send; the repeated checkpoint does not');

select is(
  (select array(select jsonb_object_keys(payload) order by 1) from realtime.messages
   where topic = 'sync:job:' || :'job' order by inserted_at desc, payload -> 'progress' ->> 'done' limit 1),
  array['connection_id', 'error', 'id', 'job_id', 'kind', 'progress', 'provider', 'stats', 'status', 'updated_at'],
  'the payload has the contract''s fields (and realtime.send''s id)');
select is((select payload -> 'progress' ->> 'percent' from realtime.messages
           where topic = 'sync:job:' || :'job' and payload -> 'progress' ->> 'done' = '1' limit 1), '25.0', 'with the progress');

select sync.complete(:'job', :'token');
select is((select count(*)::int from realtime.messages where topic = 'sync:job:' || :'job' and payload ->> 'status' = 'succeeded'), 1,
  'completion is announced');

select * from finish();
rollback;
