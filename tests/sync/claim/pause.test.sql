-- While paused, nothing is claimed; resume lets claims through again.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(5);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset

select sync.pause('maintenance window');
select is((select paused_reason from sync.settings), 'maintenance window', 'the reason is kept');
select is((select count(*)::int from sync.claim(:'provider', 'w')), 0, 'paused: nothing claimed');
select is((select status::text from sync.jobs where id = :'job'), 'queued', 'the job waits');
select sync.resume();
select is((select id from sync.claim(:'provider', 'w')), :'job'::uuid, 'resumed: the job is claimed');
select ok((select not paused and paused_reason is null from sync.settings), 'resume clears the switch');

select * from finish();
rollback;
