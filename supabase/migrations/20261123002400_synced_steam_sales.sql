-- Steam partner sales (IPartnerFinancialsService/GetDetailedSales), one row per date and
-- line item. Steam has no row id, so a line item's identity is every field that is not
-- a measure: what was sold (type, package, bundle, app), where, on which platform, in
-- which currency, at which prices. A re-synced date upserts onto the same rows.
create table synced.steam_sales (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  date date not null,
  line_item_type text not null,
  partner_id bigint,
  package_id bigint,
  bundle_id bigint,
  app_id bigint,
  country_code text,
  platform text,
  currency text,
  base_price numeric(18, 4),
  sale_price numeric(18, 4),
  gross_units_sold bigint not null default 0,
  gross_units_returned bigint not null default 0,
  gross_units_activated bigint not null default 0,
  net_units_sold bigint not null default 0,
  gross_sales_usd numeric(18, 4) not null default 0,
  gross_returns_usd numeric(18, 4) not null default 0,
  net_tax_usd numeric(18, 4) not null default 0,
  net_sales_usd numeric(18, 4) not null default 0,
  synced_at timestamptz not null default now(),
  constraint steam_sales_line_item unique nulls not distinct (
    connection_id, date, line_item_type, partner_id, package_id, bundle_id, app_id,
    country_code, platform, currency, base_price, sale_price
  )
);
create index steam_sales_owner_idx on synced.steam_sales (owner_id, date);

alter table synced.steam_sales enable row level security;
grant select on synced.steam_sales to authenticated;
grant select, insert, update, delete on synced.steam_sales to service_role;
create policy "owners and admins read steam sales" on synced.steam_sales
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));
