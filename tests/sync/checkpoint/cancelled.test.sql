-- A running job cancelled by an operator: the worker learns it at its next checkpoint.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(4);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset

select ok(sync.cancel(:'job'), 'cancel of a running job succeeds');
select ok(not sync.checkpoint(:'job', :'token', '{"page": 2}'::jsonb, '{}'::jsonb), 'the worker''s next checkpoint returns false');
select ok(not sync.complete(:'job', :'token'), 'and it cannot complete');
select is((select status::text from sync.jobs where id = :'job'), 'cancelled', 'the job stays cancelled');

select * from finish();
rollback;
