-- sync.take_token as in 20261123001700_sync_take_token.sql, but a provider without a
-- rate limit is answered from a plain read. The first version locked the provider's row
-- (FOR UPDATE) before it looked at the limit, so every request of every worker of an
-- unlimited provider (http-json by default) queued behind the others on that one row,
-- and each lock wrote the row's xmax: a dirtied page and WAL for Realtime's walsender to
-- decode, for a token that costs nothing. A limit set meanwhile is seen by the next call;
-- under the lock, the limit is read again.
create or replace function sync.take_token(provider text, cost integer default 1) returns double precision
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  p sync.providers;
  rate double precision;
  capacity double precision;
  available double precision;
  at timestamptz := clock_timestamp();
begin
  select * into p from sync.providers x where x.name = take_token.provider;
  if not found then
    raise exception 'provider % does not exist', take_token.provider using errcode = 'no_data_found';
  end if;
  if p.requests_per_minute is null then
    return 0;
  end if;
  select * into p from sync.providers x where x.name = take_token.provider for update;
  if p.requests_per_minute is null then
    return 0;
  end if;
  rate := p.requests_per_minute / 60.0;
  capacity := coalesce(p.burst, p.requests_per_minute);
  if cost < 1 or cost > capacity then
    raise exception 'cost must be between 1 and the bucket size (%)', capacity using errcode = 'invalid_parameter_value';
  end if;
  available := least(
    capacity,
    coalesce(p.bucket_tokens, capacity) + greatest(0, extract(epoch from at - coalesce(p.bucket_refilled_at, at))) * rate
  );
  update sync.providers x
  set bucket_tokens = case when available >= cost then available - cost else available end,
      bucket_refilled_at = at
  where x.name = p.name;
  return case when available >= cost then 0 else (cost - available) / rate end;
end
$$;
