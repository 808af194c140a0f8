-- After N consecutive failures of a connection, one webhook post per streak.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select vault.create_secret('http://127.0.0.1:9/slack-hook', 'test-alert-webhook');
update sync.settings set alert_webhook_secret_name = 'test-alert-webhook', alert_failure_threshold = 2;
select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
create function pg_temp.fail_once(conn uuid, provider text, kind text) returns void language plpgsql as $$
declare r record;
begin
  perform sync.enqueue(conn, kind);
  select id, lease_token into r from sync.claim(provider, 'w') limit 1;
  perform sync.fail(r.id, r.lease_token, 'upstream 401: token revoked', false);
end $$;
create function pg_temp.hooks() returns int language sql as $$
  select count(*)::int from net.http_request_queue where url = 'http://127.0.0.1:9/slack-hook'
$$;

select pg_temp.fail_once(:'conn', :'provider', 'a');
select is(pg_temp.hooks(), 0, 'one failure: no alert yet');
select pg_temp.fail_once(:'conn', :'provider', 'b');
select is(pg_temp.hooks(), 1, 'the second in a row reaches the threshold: alert');
select ok((select convert_from(body, 'UTF8')::jsonb ->> 'text' like '%failed 2 times in a row. Last error: upstream 401: token revoked'
           from net.http_request_queue where url = 'http://127.0.0.1:9/slack-hook'), 'a Slack-style text with the last error');
select pg_temp.fail_once(:'conn', :'provider', 'c');
select is(pg_temp.hooks(), 1, 'the third failure of the same streak does not alert again');
select is((select count(*)::int from sync.job_events e join sync.jobs j on j.id = e.job_id
           where j.connection_id = :'conn' and e.event = 'alert_sent'), 1, 'the alert is recorded as an event');

-- A success ends the streak; the next streak alerts again.
select sync.enqueue(:'conn', 'ok') as ok_job \gset
select sync.complete(:'ok_job', (select lease_token from sync.claim(:'provider', 'w')));
select pg_temp.fail_once(:'conn', :'provider', 'd');
select pg_temp.fail_once(:'conn', :'provider', 'e');
select is(pg_temp.hooks(), 2, 'a new streak alerts again');

select * from finish();
rollback;
