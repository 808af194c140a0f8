-- A worker that lost its lease completes nothing and chains nothing.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(3);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.cancel(:'job');

select ok(not sync.complete_and_chain(:'job', :'token', '{}'::jsonb, '{"after": 9}'::jsonb, 'summary'),
  'refused: the job was cancelled under the worker');
select is((select count(*)::int from sync.jobs where connection_id = :'conn'), 1, 'no follow-up');
select ok(not sync.complete_and_chain(:'job', gen_random_uuid(), '{}'::jsonb, null, 'summary'),
  'a wrong lease token is refused too');

select * from finish();
rollback;
