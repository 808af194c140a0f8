-- refresh_spotify_daily_summary rebuilds a connection's listening days (UTC): plays,
-- minutes, and the top tracks and artists by plays.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../../sync/_fixtures.sql
select plan(4);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as conn \gset
insert into synced.spotify_tracks (connection_id, owner_id, track_id, name, artists, duration_ms)
values (:'conn', :'owner', 't1', 'One', '[{"id": "a1", "name": "Ada"}]', 180000),
       (:'conn', :'owner', 't2', 'Two', '[{"id": "a1", "name": "Ada"}, {"id": "a2", "name": "Bo"}]', 240000);
insert into synced.spotify_plays (connection_id, owner_id, played_at, track_id)
values (:'conn', :'owner', '2026-11-01 10:00Z', 't1'),
       (:'conn', :'owner', '2026-11-01 11:00Z', 't2'),
       (:'conn', :'owner', '2026-11-01 12:00Z', 't2'),
       (:'conn', :'owner', '2026-11-02 00:30Z', 't1');

select is(synced.refresh_spotify_daily_summary(:'conn'), 2, 'one row per day');
select results_eq(
  $$select day::text, plays, minutes::float8 from synced.spotify_daily_summary where connection_id = '$$ || :'conn' || $$' order by day$$,
  $$values ('2026-11-01', 3, 11::float8), ('2026-11-02', 1, 3::float8)$$,
  'plays and minutes per UTC day'
);
select is((select top_tracks -> 0 ->> 'id' from synced.spotify_daily_summary where connection_id = :'conn' and day = '2026-11-01'), 't2', 'the most played track first');
select is((select top_artists -> 0 from synced.spotify_daily_summary where connection_id = :'conn' and day = '2026-11-01'),
  '{"id": "a1", "name": "Ada", "plays": 3}'::jsonb, 'artists counted across tracks');

select * from finish();
rollback;
