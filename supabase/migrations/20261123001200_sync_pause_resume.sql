-- sync.pause / sync.resume: the global switch. While paused, sync.claim hands out
-- nothing; running jobs finish their current chunk and queued jobs wait.
create function sync.pause(reason text) returns void
language sql
volatile
security definer
set search_path = ''
as $$
  update sync.settings
  set paused = true, paused_reason = coalesce(nullif(trim(reason), ''), 'paused by an operator'),
      paused_at = now(), updated_at = now();
$$;

create function sync.resume() returns void
language sql
volatile
security definer
set search_path = ''
as $$
  update sync.settings set paused = false, paused_reason = null, paused_at = null, updated_at = now();
$$;
