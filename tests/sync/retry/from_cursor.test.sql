-- retry requeues a failed or cancelled job from its last cursor, with fresh attempts.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(7);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"page": 12}'::jsonb, '{"done": 12}'::jsonb);
select sync.fail(:'job', :'token', 'revoked', false);

select is(sync.retry(:'job'), :'job'::uuid, 'retry returns the job');
select is((select status::text || '/' || attempts from sync.jobs where id = :'job'), 'queued/0', 'queued with fresh attempts');
select cursor as claimed_cursor from sync.claim(:'provider', 'w') \gset
select is(:'claimed_cursor'::jsonb, '{"page": 12}'::jsonb, 'a worker claiming it gets the last cursor');

select throws_ok(format($$ select sync.retry(%L) $$, :'job'), '55000', null, 'a running job cannot be retried');
select throws_ok(format($$ select sync.retry(%L) $$, gen_random_uuid()), 'P0002', null, 'an unknown job is an error');

-- Cancelled, while a new job of the same kind already runs: retry points at that one.
select sync.cancel(:'job');
select sync.enqueue(:'conn') as newer \gset
select is(sync.retry(:'job'), :'newer'::uuid, 'the active job of that kind is returned instead');
select is((select status::text from sync.jobs where id = :'job'), 'cancelled', 'and the old one is left as it was');

select * from finish();
rollback;
