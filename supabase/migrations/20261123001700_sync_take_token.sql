-- sync.take_token: the per-provider rate limit, a token bucket shared by every worker.
-- A worker calls it before each upstream request. It returns 0 when a token was taken
-- (go ahead), or how many seconds to wait until one will be free (nothing is taken).
--
-- The bucket refills continuously at requests_per_minute / 60 tokens per second up to
-- `burst`. The provider row lock serialises takers, which is the point: the limit
-- holds across every worker process. clock_timestamp(), not now(), so a long
-- transaction sees time pass.
create function sync.take_token(provider text, cost integer default 1) returns double precision
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
  select * into p from sync.providers x where x.name = take_token.provider for update;
  if not found then
    raise exception 'provider % does not exist', take_token.provider using errcode = 'no_data_found';
  end if;
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
