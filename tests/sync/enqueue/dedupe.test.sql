-- While a connection has a queued or running job of a kind, enqueue returns that job.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as first \gset

select is(sync.enqueue(:'conn'), :'first'::uuid, 'a second trigger returns the queued job');
select isnt(sync.enqueue(:'conn', 'full'), :'first'::uuid, 'another kind is another job');

select lease_token as token from sync.claim(:'provider', 'w', 5) where id = :'first' \gset
select is(sync.enqueue(:'conn'), :'first'::uuid, 'a running job dedupes too');

select sync.complete(:'first', :'token');
select sync.enqueue(:'conn') as second \gset
select isnt(:'second'::uuid, :'first'::uuid, 'once finished, a new job is made');
select is((select count(*)::int from sync.jobs where connection_id = :'conn' and kind = 'incremental'), 2, 'two jobs in all');

select * from finish();
rollback;
