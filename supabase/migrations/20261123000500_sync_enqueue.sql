-- The fairness rule in one place: a job joining the queue takes the next place (lane)
-- in its owner's line for the provider. See sync.claim for how lanes are served.
create function sync.next_lane(provider text, owner_id uuid) returns integer
language sql
stable
set search_path = ''
as $$
  select coalesce(max(j.lane), 0) + 1
  from sync.jobs j
  where j.provider = next_lane.provider and j.owner_id = next_lane.owner_id and j.status = 'queued'
$$;

-- sync.enqueue: the one way a job comes into being.
--
-- Dedupe: while a connection has a queued or running job of a kind, asking again
-- returns that job. The partial unique index jobs_active_unique makes this hold under
-- concurrency too: of two racing inserts, one conflicts and reads the winner's id.
--
-- Fairness: the job gets the next place (lane) in its owner's line for the provider,
-- so a 10,000-job backfill occupies lanes 1..10,000 while another owner's single job
-- takes lane 1 and is claimed right after the backfill's first.
create function sync.enqueue(
  connection_id uuid,
  kind text default 'incremental',
  params jsonb default '{}'::jsonb,
  run_at timestamptz default now(),
  priority integer default 0
) returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  conn sync.connections;
  new_id uuid;
begin
  select * into conn from sync.connections c where c.id = enqueue.connection_id;
  if not found then
    raise exception 'connection % does not exist', enqueue.connection_id using errcode = 'no_data_found';
  end if;
  if enqueue.params is null or jsonb_typeof(enqueue.params) <> 'object' then
    raise exception 'params must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;

  loop
    insert into sync.jobs (owner_id, connection_id, provider, kind, params, run_at, priority, lane)
    values (
      conn.owner_id, conn.id, conn.provider, enqueue.kind, enqueue.params,
      coalesce(enqueue.run_at, now()), coalesce(enqueue.priority, 0),
      sync.next_lane(conn.provider, conn.owner_id)
    )
    on conflict (connection_id, kind) where status in ('queued', 'running') do nothing
    returning id into new_id;

    if new_id is not null then
      insert into sync.job_events (job_id, owner_id, event, status, data)
      values (new_id, conn.owner_id, 'enqueued', 'queued', jsonb_build_object('kind', enqueue.kind, 'params', enqueue.params));
      return new_id;
    end if;

    select j.id into new_id from sync.jobs j
    where j.connection_id = conn.id and j.kind = enqueue.kind and j.status in ('queued', 'running');
    if new_id is not null then
      return new_id;
    end if;
    -- The job we collided with finished in between: try the insert again.
  end loop;
end
$$;
