-- Per-campaign totals over everything synced for an ad connection, rebuilt by the
-- follow-up job after each ad sync. A table refreshed per connection rather than a
-- materialized view: a materialized view can have no RLS, and refreshing one rebuilds
-- every owner's totals at once.
create table synced.ad_campaign_totals (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  provider text not null,
  account_id text not null,
  campaign_id text not null,
  campaign_name text,
  first_date date not null,
  last_date date not null,
  days integer not null,
  impressions bigint not null,
  clicks bigint not null,
  spend numeric(18, 6) not null,
  conversions numeric(18, 6) not null,
  -- Click-through rate and cost per click; null where the divisor is zero.
  ctr numeric,
  cpc numeric,
  currency text,
  refreshed_at timestamptz not null default now(),
  primary key (connection_id, account_id, campaign_id)
);
create index ad_campaign_totals_owner_idx on synced.ad_campaign_totals (owner_id);

alter table synced.ad_campaign_totals enable row level security;
grant select on synced.ad_campaign_totals to authenticated;
grant select, insert, update, delete on synced.ad_campaign_totals to service_role;
create policy "owners and admins read ad campaign totals" on synced.ad_campaign_totals
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

create function synced.refresh_ad_campaign_totals(connection_id uuid) returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  refreshed integer;
begin
  delete from synced.ad_campaign_totals t where t.connection_id = refresh_ad_campaign_totals.connection_id;
  insert into synced.ad_campaign_totals (
    connection_id, owner_id, provider, account_id, campaign_id, campaign_name,
    first_date, last_date, days, impressions, clicks, spend, conversions, ctr, cpc, currency
  )
  select m.connection_id, min(m.owner_id::text)::uuid, min(m.provider), m.account_id, m.campaign_id,
         -- The name as of the latest day: campaigns get renamed.
         (array_agg(m.campaign_name order by m.date desc))[1],
         min(m.date), max(m.date), count(*)::int,
         sum(m.impressions)::bigint, sum(m.clicks)::bigint, sum(m.spend), sum(m.conversions),
         round(sum(m.clicks)::numeric / nullif(sum(m.impressions), 0), 6),
         round(sum(m.spend) / nullif(sum(m.clicks), 0), 6),
         (array_agg(m.currency order by m.date desc))[1]
  from synced.ad_metrics_daily m
  where m.connection_id = refresh_ad_campaign_totals.connection_id
  group by m.connection_id, m.account_id, m.campaign_id;
  get diagnostics refreshed = row_count;
  return refreshed;
end
$$;
revoke all on function synced.refresh_ad_campaign_totals(uuid) from public, anon, authenticated;
grant execute on function synced.refresh_ad_campaign_totals(uuid) to service_role;
