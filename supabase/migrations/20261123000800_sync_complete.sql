-- sync.complete_many / sync.complete: workers finished jobs.
--
-- Compare-and-set like sync.checkpoint: only rows still `running` under the presented
-- lease_token change. A job's final cursor (or, if none is given, its last checkpoint)
-- becomes its connection's high-watermark, which is where the next incremental sync
-- starts; dry runs leave the connection alone.
--
-- complete_many is the set-based form, for a worker that finishes many small jobs at
-- once: one UPDATE for the jobs, one for their connections, one INSERT for the events,
-- whatever the batch size. complete is the single-job form of the contract, on top.
-- Both are PL/pgSQL, not SQL functions, because PL/pgSQL keeps its plans between calls
-- and a queue calls these thousands of times a second.
create function sync.complete_many(
  job_ids uuid[],
  lease_tokens uuid[],
  stats jsonb default '{}'::jsonb,
  cursors jsonb[] default null
) returns setof uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  with done as (
    update sync.jobs j
    set status = 'succeeded',
        cursor = coalesce(t.cursor, j.cursor),
        stats = coalesce(complete_many.stats, j.stats),
        progress = sync.normalize_progress(j.progress, '{"phase": "done", "percent": 100}'::jsonb),
        lease_token = null,
        lease_expires_at = null,
        last_error = null,
        finished_at = now(),
        updated_at = now()
    from unnest(complete_many.job_ids, complete_many.lease_tokens, complete_many.cursors) as t (id, token, cursor)
    where j.id = t.id and j.lease_token = t.token and j.status = 'running'
    returning j.*
  ),
  watermarks as (
    update sync.connections c
    set high_watermark = case when w.dry_run or w.cursor is null then c.high_watermark else w.cursor end,
        last_synced_at = case when w.dry_run then c.last_synced_at else now() end,
        consecutive_failures = 0,
        updated_at = now()
    from (
      select distinct on (d.connection_id) d.connection_id, d.cursor, d.dry_run
      from done d
      order by d.connection_id, d.dry_run, d.id
    ) w
    where c.id = w.connection_id
  ),
  logged as (
    insert into sync.job_events (job_id, owner_id, event, status, attempt, data)
    select d.id, d.owner_id, 'succeeded', 'succeeded', d.attempts, jsonb_build_object('stats', d.stats)
    from done d
  )
  select d.id from done d;
end
$$;

create function sync.complete(
  job_id uuid,
  lease_token uuid,
  stats jsonb default '{}'::jsonb,
  cursor jsonb default null
) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  return exists (
    select 1 from sync.complete_many(array[complete.job_id], array[complete.lease_token], complete.stats, array[complete.cursor])
  );
end
$$;
