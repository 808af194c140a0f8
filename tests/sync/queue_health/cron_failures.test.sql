-- A failed run of one of Tributary's pg_cron jobs shows up in queue_health.
begin;
create extension if not exists pgtap with schema extensions;
select plan(2);

select is((select max(cron_failures_last_hour) from sync.queue_health), 0, 'no failed cron runs yet');
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
select jobid, 9999999, 0, 'postgres', 'postgres', command, 'failed', 'ERROR: simulated failure', now() - interval '5 minutes', now()
from cron.job where jobname = 'tributary-tick';
select is((select min(cron_failures_last_hour) from sync.queue_health), 1, 'a failed tributary-tick run is counted on every row');

select * from finish();
rollback;
