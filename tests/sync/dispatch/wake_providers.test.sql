-- dispatch posts to each provider with runnable jobs, to its function, with the worker
-- secret from Vault; nothing when paused or when there is no work. (How many posts:
-- fan_out.test.sql.)
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.use_test_dispatch_secrets();

select pg_temp.make_provider() as busy \gset
select pg_temp.make_provider() as idle \gset
select sync.enqueue(pg_temp.make_connection(pg_temp.make_owner(), :'busy'), 'k' || i) from generate_series(1, 3) i;
select coalesce(max(id), 0) as before from net.http_request_queue \gset

select is(sync.dispatch(:'busy'), 3, 'a request per runnable job of the busy provider');
select is(sync.dispatch(:'idle'), 0, 'none for a provider without work');
select is((select url from net.http_request_queue where id > :'before'::bigint order by id limit 1),
  'http://127.0.0.1:9/functions/v1/sync-' || :'busy', 'to the provider''s function');
select is((select headers ->> 'Authorization' from net.http_request_queue where id > :'before'::bigint order by id limit 1),
  'Bearer worker-secret-for-test', 'authorised by the worker secret');

select sync.pause('testing');
select is(sync.dispatch(:'busy'), 0, 'paused: nobody is woken');
select sync.resume();

update vault.secrets set name = 'gone' where name = 'tributary_worker_secret';
select is(sync.dispatch(:'busy'), 0, 'without the secret, nothing is sent');

select * from finish();
rollback;
