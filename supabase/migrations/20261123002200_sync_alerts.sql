-- Alerts: when a connection's jobs fail `alert_failure_threshold` times in a row, post a
-- Slack-compatible webhook ({"text": ...}) through net.http_post and record the alert
-- in the failed job's events. Once per streak: the alert fires when the count reaches
-- the threshold, not on every failure after it; a success (sync.complete_many) resets
-- the count to 0 and so starts a new streak.
--
-- The webhook URL is a secret (it authorises posting to the channel), so it lives in
-- Vault; sync.settings.alert_webhook_secret_name names the secret.
create function sync.alert_on_failure_streak() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  settings sync.settings;
  webhook_url text;
  last_job sync.jobs;
  message text;
begin
  select * into settings from sync.settings;
  if new.consecutive_failures <> settings.alert_failure_threshold then
    return null;
  end if;
  select * into last_job from sync.jobs j
  where j.connection_id = new.id and j.status = 'failed'
  order by j.finished_at desc nulls last
  limit 1;
  message := format(
    'Tributary: the %s connection "%s" has failed %s times in a row. Last error: %s',
    new.provider, new.label, new.consecutive_failures, coalesce(last_job.last_error, 'unknown')
  );
  if settings.alert_webhook_secret_name is not null then
    select decrypted_secret into webhook_url from vault.decrypted_secrets where name = settings.alert_webhook_secret_name;
  end if;
  if webhook_url is not null then
    perform net.http_post(url := webhook_url, body := jsonb_build_object('text', message));
  end if;
  if last_job.id is not null then
    insert into sync.job_events (job_id, owner_id, event, status, attempt, message, data)
    values (last_job.id, last_job.owner_id, case when webhook_url is null then 'alert_skipped' else 'alert_sent' end,
            last_job.status, last_job.attempts, message,
            jsonb_build_object('consecutive_failures', new.consecutive_failures,
                               'reason', case when webhook_url is null then 'no alert webhook configured' end));
  end if;
  return null;
end
$$;

revoke all on function sync.alert_on_failure_streak() from public, anon, authenticated;

create trigger connections_alert_on_failure_streak
after update of consecutive_failures on sync.connections
for each row
when (new.consecutive_failures > old.consecutive_failures)
execute function sync.alert_on_failure_streak();
