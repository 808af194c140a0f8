-- What is not a batch of completions is refused with a clear error, and nothing of it
-- is completed.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(4);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset

select throws_ok($$select sync.complete_and_chain_many('{"job_id": 1}'::jsonb)$$, '22023', null,
  'an object instead of an array is refused');
select throws_ok($$select sync.complete_and_chain_many(null)$$, '22023', null, 'so is null');
select throws_ok(
  format($$select sync.complete_and_chain_many(jsonb_build_array(jsonb_build_object(
           'job_id', %L, 'lease_token', %L, 'follow_up', 'summary', 'follow_up_params', '[1]'::jsonb)))$$, :'job', :'token'),
  '22023', 'follow_up_params must be a JSON object', 'follow-up params that are not an object are refused');
select is((select status::text from sync.jobs where id = :'job'), 'running', 'and the job was not completed');

select * from finish();
rollback;
