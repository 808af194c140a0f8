-- Retryable failures back off exponentially (with jitter, capped) until max_attempts.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(9);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
update sync.jobs set max_attempts = 3 where id = :'job';

-- Attempt 1 fails: wait in [2.5 s, 5 s].
select lease_token as t1 from sync.claim(:'provider', 'w') \gset
select ok(sync.fail(:'job', :'t1', 'upstream 503'), 'fail succeeds');
select is((select status::text from sync.jobs where id = :'job'), 'queued', 'queued for a retry');
select ok((select run_at - now() between interval '2.5 seconds' and interval '5 seconds' from sync.jobs where id = :'job'),
  'first wait is 2.5-5 s');

-- Attempt 2 fails: wait in [5 s, 10 s].
update sync.jobs set run_at = now() where id = :'job';
select lease_token as t2 from sync.claim(:'provider', 'w') \gset
select sync.fail(:'job', :'t2', 'upstream 503 again');
select ok((select run_at - now() between interval '5 seconds' and interval '10 seconds' from sync.jobs where id = :'job'),
  'second wait is 5-10 s: it grows');

-- Attempt 3 of 3 fails: no attempts left.
update sync.jobs set run_at = now() where id = :'job';
select lease_token as t3 from sync.claim(:'provider', 'w') \gset
select sync.fail(:'job', :'t3', 'still 503');
select is((select status::text from sync.jobs where id = :'job'), 'failed', 'out of attempts: failed');
select is((select last_error from sync.jobs where id = :'job'), 'still 503', 'with the last error');
select is((select array_agg(event order by id)::text from sync.job_events where job_id = :'job' and event <> 'claimed'),
  '{enqueued,retry_scheduled,retry_scheduled,failed}', 'every transition is logged');

-- The delay is capped at an hour.
select ok((select max(extract(epoch from sync.retry_delay(30))) <= 3600 from generate_series(1, 50)), 'the wait is capped at 1 h');
select ok((select min(extract(epoch from sync.retry_delay(30))) >= 1800 from generate_series(1, 50)), 'and jitter keeps at least half');

select * from finish();
rollback;
