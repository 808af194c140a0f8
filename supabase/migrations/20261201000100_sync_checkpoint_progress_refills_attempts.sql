-- A run that moves the cursor gives back the attempts spent before it.
--
-- sync.claim counts an attempt per claim, and a job fails for good once attempts reach
-- max_attempts. For a resumable job that bound was wrong: a long backfill whose worker
-- is killed at the Edge wall-clock limit, or by a deploy, now and then, spent an
-- attempt each time even though every run checkpointed real progress, and ran out of
-- attempts half way (the chaos soak's first full run lost five Steam jobs so).
--
-- So `attempts` counts runs in a row that made no progress, the current one included:
-- a checkpoint whose cursor differs from the stored one sets it back to 1. A job that
-- crashes, times out or fails max_attempts times without moving its cursor still ends
-- `failed` (a poison chunk never checkpoints), while a job that keeps moving finishes.
-- Backoff after a progressing run starts again from its first step, too.
--
-- Only the cursor counts as progress: it is what a retry resumes from. A checkpoint
-- that renews the lease or reports a new percent with the same cursor refills nothing.
create or replace function sync.checkpoint(
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
      attempts = case when checkpoint.cursor is distinct from j.cursor and checkpoint.cursor is not null
                      then least(j.attempts, 1) else j.attempts end,
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
