-- refresh_ad_campaign_totals rebuilds one connection's per-campaign totals from its
-- daily metrics: sums, the date span, ratios, the latest name; other connections untouched.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../../sync/_fixtures.sql
select plan(7);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as conn \gset
select pg_temp.make_connection(:'owner', :'provider') as other \gset
insert into synced.ad_metrics_daily (connection_id, owner_id, provider, account_id, campaign_id, campaign_name, date, impressions, clicks, spend, conversions, currency)
values (:'conn', :'owner', 'meta-ads', 'acc', 'c1', 'Old name', '2026-10-01', 1000, 10, 5.00, 1, 'USD'),
       (:'conn', :'owner', 'meta-ads', 'acc', 'c1', 'New name', '2026-10-03', 3000, 30, 15.00, 2, 'USD'),
       (:'conn', :'owner', 'meta-ads', 'acc', 'c2', 'Zero', '2026-10-02', 0, 0, 0, 0, 'USD'),
       (:'other', :'owner', 'meta-ads', 'acc', 'c9', 'Elsewhere', '2026-10-02', 5, 1, 1, 0, 'USD');
insert into synced.ad_campaign_totals (connection_id, owner_id, provider, account_id, campaign_id, first_date, last_date, days, impressions, clicks, spend, conversions)
values (:'conn', :'owner', 'meta-ads', 'acc', 'gone', '2026-01-01', '2026-01-01', 1, 1, 1, 1, 1);

select is(synced.refresh_ad_campaign_totals(:'conn'), 2, 'one row per campaign of the connection');
select results_eq(
  $$select campaign_id, campaign_name, first_date::text, last_date::text, days, impressions, clicks, spend::float8, conversions::float8
    from synced.ad_campaign_totals where connection_id = '$$ || :'conn' || $$' order by campaign_id$$,
  $$values ('c1', 'New name', '2026-10-01', '2026-10-03', 2, 4000::bigint, 40::bigint, 20::float8, 3::float8),
           ('c2', 'Zero', '2026-10-02', '2026-10-02', 1, 0::bigint, 0::bigint, 0::float8, 0::float8)$$,
  'sums, date span and the latest name'
);
select is((select ctr from synced.ad_campaign_totals where connection_id = :'conn' and campaign_id = 'c1'), 0.010000, 'click-through rate');
select is((select cpc from synced.ad_campaign_totals where connection_id = :'conn' and campaign_id = 'c1'), 0.500000, 'cost per click');
select is((select ctr from synced.ad_campaign_totals where connection_id = :'conn' and campaign_id = 'c2'), null, 'no ratio without a divisor');
select is((select count(*)::int from synced.ad_campaign_totals where campaign_id = 'gone'), 0, 'campaigns no longer synced are dropped');
select is((select count(*)::int from synced.ad_campaign_totals where connection_id = :'other'), 0, 'other connections are untouched');

select * from finish();
rollback;
