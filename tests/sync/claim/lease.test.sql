-- Each claim sets a fresh lease token, a lease expiry, the worker, and counts an attempt.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset

select lease_token as first_token from sync.claim(:'provider', 'worker-a', 1, 60) \gset
select is((select status::text from sync.jobs where id = :'job'), 'running', 'the job is running');
select is((select worker from sync.jobs where id = :'job'), 'worker-a', 'the worker is recorded');
select is((select attempts from sync.jobs where id = :'job'), 1, 'one attempt counted');
select is((select lease_expires_at from sync.jobs where id = :'job'), now() + interval '60 seconds', 'leased for 60 s');

-- The lease lapses and the job is rescued: the next claim gets a new token.
update sync.jobs set lease_expires_at = now() - interval '1 second' where id = :'job';
select sync.reset_stale();
select lease_token as second_token from sync.claim(:'provider', 'worker-b') \gset
select isnt(:'second_token'::uuid, :'first_token'::uuid, 'a new claim gets a new token');
select is((select attempts from sync.jobs where id = :'job'), 2, 'and counts a second attempt');

select * from finish();
rollback;
