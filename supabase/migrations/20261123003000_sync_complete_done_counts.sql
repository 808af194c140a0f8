-- sync.complete_many as in 20261123002800_sync_hot_path.sql, except that a succeeded
-- job's progress reads done = total. Workers complete with their last chunk instead of
-- checkpointing it, so the final progress used to stop at the previous chunk's count
-- ("100%, 3 of 6 rows"), which is what a progress bar showed at the end.
create or replace function sync.complete_many(
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
        -- A job that succeeded did all it counted: `done` catches up with `total`, since
        -- the last chunk is not checkpointed (its progress would be stale at once).
        progress = j.progress || '{"phase": "done", "percent": 100}'::jsonb
          || case when jsonb_typeof(j.progress -> 'total') = 'number' and jsonb_typeof(j.progress -> 'done') = 'number'
                       and (j.progress ->> 'done')::numeric < (j.progress ->> 'total')::numeric
                  then jsonb_build_object('done', j.progress -> 'total') else '{}'::jsonb end,
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
