-- One owner's big backfill cannot starve another owner's single job.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(4);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as big \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as small \gset
-- The backfill is enqueued first, with older run_at: plain FIFO would serve it all first.
select sync.enqueue(:'big', 'day-' || i, run_at => now() - interval '1 hour' + make_interval(secs => i))
from generate_series(1, 200) i;
select sync.enqueue(:'small', 'incremental') as single \gset

select ok(:'single'::uuid in (select id from sync.claim(:'provider', 'w', 2)),
  'the single job is among the first two claimed, not the 201st');

-- Two owners with backfills alternate.
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as other \gset
select sync.enqueue(:'other', 'day-' || i) from generate_series(1, 50) i;
select is((select count(distinct owner_id)::int from sync.claim(:'provider', 'w', 2)), 2, 'two claims, two owners');
select is((select count(distinct owner_id)::int from sync.claim(:'provider', 'w', 2)), 2, 'and again');

select sync.enqueue(:'big', 'urgent', priority => 10) as urgent \gset
select is((select id from sync.claim(:'provider', 'w')), :'urgent'::uuid, 'priority still comes before fairness');

select * from finish();
rollback;
