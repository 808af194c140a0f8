-- A provider's max_concurrency caps its running jobs, across claims.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(4);

select pg_temp.make_provider(cap => 2) as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'k' || i) from generate_series(1, 5) i;

select is((select count(*)::int from sync.claim(:'provider', 'w', 5)), 2, 'a claim for 5 gets the 2 the cap allows');
select is((select count(*)::int from sync.claim(:'provider', 'w', 5)), 0, 'at the cap, nothing more');

select lease_token as token, id as job from sync.jobs where provider = :'provider' and status = 'running' limit 1 \gset
select sync.complete(:'job', :'token');
select is((select count(*)::int from sync.claim(:'provider', 'w', 5)), 1, 'one finishes, one more may start');
select is((select count(*)::int from sync.jobs where provider = :'provider' and status = 'running'), 2, 'still 2 running');

select * from finish();
rollback;
