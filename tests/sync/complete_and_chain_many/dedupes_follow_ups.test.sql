-- A follow-up already queued or running for a connection is not enqueued twice, as
-- sync.enqueue would return the existing job; and two jobs of one connection in one
-- batch move its watermark once, to a non-dry-run job's cursor.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(3);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn', 'summary') as waiting \gset
select sync.enqueue(:'conn') as a \gset
select sync.enqueue(:'conn', 'backfill') as b \gset
create temporary table claimed as select id, lease_token from sync.claim(:'provider', 'w', 3) where kind <> 'summary';
update sync.jobs set dry_run = true where id = :'b';

select is(
  (select count(*)::int from sync.complete_and_chain_many((
     select jsonb_agg(jsonb_build_object('job_id', id, 'lease_token', lease_token, 'cursor', jsonb_build_object('from', id),
                                         'follow_up', 'summary'))
     from claimed))),
  2, 'both jobs complete');
select is((select array_agg(id) from sync.jobs where kind = 'summary'), array[:'waiting'::uuid],
  'the summary already queued is the only one');
select is((select high_watermark from sync.connections where id = :'conn'), jsonb_build_object('from', :'a'::uuid),
  'the watermark is the real run''s cursor, not the dry run''s');

select * from finish();
rollback;
