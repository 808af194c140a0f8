-- Progress events: every change of a job's status, progress, stats or error is sent
-- as the Realtime `progress` event to sync:job:<id> and sync:user:<owner>. A
-- checkpoint that only renews the lease changes none of these and sends nothing.
--
-- realtime.send inserts into realtime.messages, which Realtime delivers after commit:
-- a rolled-back transition is never announced. The payload has no credential in it;
-- it is built from the job row, which has none.
create function sync.publish_progress() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  payload jsonb;
begin
  if tg_op = 'UPDATE'
     and new.status = old.status
     and new.progress is not distinct from old.progress
     and new.stats is not distinct from old.stats
     and new.last_error is not distinct from old.last_error then
    return null;
  end if;
  payload := jsonb_build_object(
    'job_id', new.id,
    'connection_id', new.connection_id,
    'provider', new.provider,
    'kind', new.kind,
    'status', new.status,
    'progress', new.progress,
    'stats', new.stats,
    'error', new.last_error,
    'updated_at', new.updated_at
  );
  perform realtime.send(payload, 'progress', 'sync:job:' || new.id::text, true);
  perform realtime.send(payload, 'progress', 'sync:user:' || new.owner_id::text, true);
  return null;
end
$$;

create trigger jobs_publish_progress
after insert or update on sync.jobs
for each row execute function sync.publish_progress();
