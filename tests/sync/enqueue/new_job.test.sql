-- enqueue creates a queued job for the connection's owner and provider, and logs it.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(8);

select pg_temp.make_owner() as owner \gset
select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(:'owner', :'provider') as conn \gset
select sync.enqueue(:'conn', 'full', '{"from": "2024-01-01"}'::jsonb, now(), 5) as job \gset

select is((select status::text from sync.jobs where id = :'job'), 'queued', 'the job is queued');
select is((select owner_id from sync.jobs where id = :'job'), :'owner'::uuid, 'owned by the connection''s owner');
select is((select provider from sync.jobs where id = :'job'), :'provider', 'for the connection''s provider');
select is((select kind || ' ' || priority || ' ' || (params ->> 'from') from sync.jobs where id = :'job'), 'full 5 2024-01-01',
  'with its kind, priority and params');
select is((select attempts from sync.jobs where id = :'job'), 0, 'no attempt yet');
select is((select event from sync.job_events where job_id = :'job'), 'enqueued', 'the event log says enqueued');
select throws_ok(format($$ select sync.enqueue(%L) $$, gen_random_uuid()), 'P0002', null, 'an unknown connection is refused');
select throws_ok(format($$ select sync.enqueue(%L, 'x', '[1]'::jsonb) $$, :'conn'), '22023', 'params must be a JSON object',
  'params must be an object');

select * from finish();
rollback;
