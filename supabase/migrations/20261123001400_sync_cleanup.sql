-- sync.cleanup: forget finished jobs older than the window, with their events
-- (on delete cascade). Connections keep their high-watermark, so nothing a future
-- sync needs is lost.
create function sync.cleanup(older_than interval default '7 days') returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  deleted integer;
begin
  if older_than is null or older_than < interval '0' then
    raise exception 'older_than must be a positive interval' using errcode = 'invalid_parameter_value';
  end if;
  delete from sync.jobs j
  where j.status in ('succeeded', 'failed', 'cancelled') and j.finished_at < now() - older_than;
  get diagnostics deleted = row_count;
  return deleted;
end
$$;
