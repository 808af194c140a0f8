-- queue_health shows one row per provider with counts by status.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider(cap => 3) as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'k' || i, run_at => now() - interval '90 seconds') from generate_series(1, 4) i;
select sync.claim(:'provider', 'w', 1);
select id as failing, lease_token as token from sync.claim(:'provider', 'w', 1) \gset
select sync.fail(:'failing', :'token', 'nope', false);

select is((select queued from sync.queue_health where provider = :'provider'), 2::bigint, 'two queued');
select is((select running from sync.queue_health where provider = :'provider'), 1::bigint, 'one running');
select is((select failures_last_hour from sync.queue_health where provider = :'provider'), 1::bigint, 'one failure in the last hour');
select ok((select oldest_runnable_age_seconds >= 90 from sync.queue_health where provider = :'provider'), 'the oldest waits 90 s');
select ok((select processing_enabled from sync.queue_health where provider = :'provider'), 'processing is enabled');

select * from finish();
rollback;
