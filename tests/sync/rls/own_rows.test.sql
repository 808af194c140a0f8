-- A user reads only their own connections, jobs, events and synced rows; admins read all.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(10);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as alice \gset
select pg_temp.make_owner() as bob \gset
select pg_temp.make_owner('admin') as admin \gset
select pg_temp.make_connection(:'alice', :'provider') as alice_conn \gset
select pg_temp.make_connection(:'bob', :'provider') as bob_conn \gset
select sync.enqueue(:'alice_conn') as alice_job \gset
select sync.enqueue(:'bob_conn') as bob_job \gset
insert into synced.records (connection_id, owner_id, external_id, data) values
  (:'alice_conn', :'alice', 'a1', '{}'), (:'bob_conn', :'bob', 'b1', '{}');

select pg_temp.act_as(:'alice');
select is((select array_agg(id) from sync.connections where provider = :'provider'), array[:'alice_conn'::uuid], 'alice sees her connection only');
select is((select array_agg(id) from sync.jobs where provider = :'provider'), array[:'alice_job'::uuid], 'and her job only');
select is((select count(*)::int from sync.job_events where job_id = :'bob_job'), 0, 'not bob''s events');
select is((select array_agg(external_id) from synced.records where connection_id in (:'alice_conn', :'bob_conn')), array['a1'],
  'and her synced rows only');
select throws_ok(format($$ update sync.jobs set status = 'succeeded' where id = %L $$, :'alice_job'), '42501', null,
  'she cannot write queue state, even her own');
select throws_ok($$ select * from sync.settings $$, '42501', null, 'she cannot read settings');
select throws_ok($$ select * from sync.queue_health $$, '42501', null, 'or queue health');
reset role;

select pg_temp.act_as(:'bob');
select is((select count(*)::int from sync.jobs where id = :'alice_job'), 0, 'bob cannot see alice''s job');
reset role;

select pg_temp.act_as(:'admin', 'admin');
select is((select count(*)::int from sync.jobs where provider = :'provider'), 2, 'an admin sees every job');
select is((select count(*)::int from sync.connections where provider = :'provider'), 2, 'and every connection');
reset role;

select * from finish();
rollback;
