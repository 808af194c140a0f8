-- A permanent error fails the job at once, whatever attempts remain.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(4);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset

select ok(sync.fail(:'job', :'token', '401: The access token expired', false), 'fail succeeds');
select is((select status::text from sync.jobs where id = :'job'), 'failed', 'failed after one attempt of five');
select is((select last_error from sync.jobs where id = :'job'), '401: The access token expired', 'with the upstream''s message');
select is((select consecutive_failures from sync.connections where id = :'conn'), 1, 'the connection counts the failure');

select * from finish();
rollback;
