-- Progress events: every change of a job's status, progress, stats or error is sent
-- as the Realtime `progress` event to sync:job:<id> and sync:user:<owner>. A
-- checkpoint that only renews the lease changes none of these and sends nothing.
--
-- Why statement-level triggers that insert into realtime.messages, rather than a row
-- trigger calling realtime.send twice per job: a claim or completion of a batch would
-- otherwise make two function calls per job, each with realtime.send's own
-- subtransaction, and these dominated the queue's cost. We write, in one INSERT per
-- statement, exactly the rows realtime.send writes (extension 'broadcast', private,
-- the payload carrying its message id), and Realtime delivers them the same way: after
-- commit, so a rolled-back transition is never announced.
--
-- The payload has no credential in it; it is built from the job row, which has none.
create function sync.progress_payload(job sync.jobs) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'job_id', job.id,
    'connection_id', job.connection_id,
    'provider', job.provider,
    'kind', job.kind,
    'status', job.status,
    'progress', job.progress,
    'stats', job.stats,
    'error', job.last_error,
    'updated_at', job.updated_at
  )
$$;

create function sync.publish_progress() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into realtime.messages (id, topic, extension, event, private, payload)
    select m.id, m.topic, 'broadcast', 'progress', true, sync.progress_payload(n) || jsonb_build_object('id', m.id)
    from new_rows n
    cross join lateral (values (gen_random_uuid(), 'sync:job:' || n.id::text),
                               (gen_random_uuid(), 'sync:user:' || n.owner_id::text)) m (id, topic);
  else
    insert into realtime.messages (id, topic, extension, event, private, payload)
    select m.id, m.topic, 'broadcast', 'progress', true, sync.progress_payload(n) || jsonb_build_object('id', m.id)
    from new_rows n
    join old_rows o on o.id = n.id
    cross join lateral (values (gen_random_uuid(), 'sync:job:' || n.id::text),
                               (gen_random_uuid(), 'sync:user:' || n.owner_id::text)) m (id, topic)
    where n.status <> o.status
       or n.progress is distinct from o.progress
       or n.stats is distinct from o.stats
       or n.last_error is distinct from o.last_error;
  end if;
  return null;
end
$$;

create trigger jobs_publish_progress_on_insert
after insert on sync.jobs
referencing new table as new_rows
for each statement execute function sync.publish_progress();

create trigger jobs_publish_progress_on_update
after update on sync.jobs
referencing old table as old_rows new table as new_rows
for each statement execute function sync.publish_progress();
