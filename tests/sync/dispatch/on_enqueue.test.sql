-- Enqueueing wakes each provider once per transaction, however many statements: the
-- first statement that enqueues for it wakes a worker per job runnable then (fan_out.test.sql).
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(4);

select pg_temp.use_test_dispatch_secrets();
select pg_temp.make_provider() as first \gset
select pg_temp.make_provider() as second \gset
select pg_temp.make_owner() as owner \gset
select coalesce(max(id), 0) as before from net.http_request_queue \gset

select count(sync.enqueue(pg_temp.make_connection(:'owner', :'first'), 'k' || i)) from generate_series(1, 5) i;
select is((select count(*)::int from net.http_request_queue where id > :'before' and url like '%/sync-' || :'first'), 1,
  'five jobs from one statement: one wake-up');

select coalesce(max(id), 0) as before from net.http_request_queue \gset
insert into sync.jobs (owner_id, connection_id, provider)
select :'owner', pg_temp.make_connection(:'owner', p), p from (values (:'first'), (:'second'), (:'second')) v (p);
select is((select count(*)::int from net.http_request_queue where id > :'before' and url like '%/sync-' || :'second'), 2,
  'the second provider now, a worker for each of its two jobs');
select is((select count(*)::int from net.http_request_queue where id > :'before' and url like '%/sync-' || :'first'), 0,
  'the first provider was woken already in this transaction');

select sync.pause('quiet');
select coalesce(max(id), 0) as before from net.http_request_queue \gset
select sync.enqueue(pg_temp.make_connection(:'owner', :'first'));
select is((select count(*)::int from net.http_request_queue where id > :'before'), 0, 'paused: nobody is woken');

select * from finish();
rollback;
