-- sync.checkpoint: a worker saves where it is, and learns whether to go on.
--
-- Compare-and-set on (id, lease_token, status = 'running'): a worker whose lease was
-- taken over, or whose job was cancelled, gets false and must stop. It can never write
-- into a job that is no longer its own. The lease is extended by the job's lease length.
create function sync.checkpoint(
  job_id uuid,
  lease_token uuid,
  cursor jsonb,
  progress jsonb,
  stats jsonb default null
) returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  update sync.jobs j
  set cursor = checkpoint.cursor,
      progress = sync.normalize_progress(j.progress, checkpoint.progress),
      stats = coalesce(checkpoint.stats, j.stats),
      lease_expires_at = now() + make_interval(secs => j.lease_seconds),
      updated_at = now()
  where j.id = checkpoint.job_id
    and j.lease_token = checkpoint.lease_token
    and j.status = 'running';
  return found;
end
$$;

-- Merges a worker's progress into the stored one. `percent` is the worker's if it gave
-- one, else derived from the done/total it gave, else the stored one; always 0..100.
create function sync.normalize_progress(current_progress jsonb, update_progress jsonb) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select merged || jsonb_build_object('percent',
    case
      when jsonb_typeof(u -> 'percent') = 'number' then greatest(0, least(100, (u ->> 'percent')::numeric))
      when jsonb_typeof(merged -> 'done') = 'number' and jsonb_typeof(merged -> 'total') = 'number'
           and (merged ->> 'total')::numeric > 0 and (u ? 'done' or u ? 'total')
        then round(greatest(0, least(100, 100 * (merged ->> 'done')::numeric / (merged ->> 'total')::numeric)), 1)
      else coalesce((current_progress ->> 'percent')::numeric, 0)
    end)
  from (
    select coalesce(update_progress, '{}'::jsonb) as u,
           coalesce(current_progress, '{}'::jsonb) || coalesce(update_progress, '{}'::jsonb) as merged
  ) m
$$;
