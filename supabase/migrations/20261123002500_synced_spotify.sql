-- Spotify listening history: plays keyed by (played_at, track id), the tracks they
-- refer to, and a per-day summary that a follow-up job rebuilds after each sync.
create table synced.spotify_tracks (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  track_id text not null,
  name text not null,
  artists jsonb not null default '[]'::jsonb,
  album jsonb,
  duration_ms integer,
  synced_at timestamptz not null default now(),
  primary key (connection_id, track_id)
);
create index spotify_tracks_owner_idx on synced.spotify_tracks (owner_id);

create table synced.spotify_plays (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  played_at timestamptz not null,
  track_id text not null,
  context jsonb,
  synced_at timestamptz not null default now(),
  primary key (connection_id, played_at, track_id)
);
create index spotify_plays_owner_idx on synced.spotify_plays (owner_id, played_at desc);

create table synced.spotify_daily_summary (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  day date not null,
  plays integer not null,
  minutes numeric(10, 1) not null,
  -- [{id, name, plays}], most played first, at most five.
  top_artists jsonb not null,
  top_tracks jsonb not null,
  refreshed_at timestamptz not null default now(),
  primary key (connection_id, day)
);
create index spotify_daily_summary_owner_idx on synced.spotify_daily_summary (owner_id, day desc);

alter table synced.spotify_tracks enable row level security;
alter table synced.spotify_plays enable row level security;
alter table synced.spotify_daily_summary enable row level security;
grant select on synced.spotify_tracks, synced.spotify_plays, synced.spotify_daily_summary to authenticated;
grant select, insert, update, delete on synced.spotify_tracks, synced.spotify_plays, synced.spotify_daily_summary to service_role;
create policy "owners and admins read spotify tracks" on synced.spotify_tracks
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));
create policy "owners and admins read spotify plays" on synced.spotify_plays
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));
create policy "owners and admins read spotify daily summary" on synced.spotify_daily_summary
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

-- The follow-up job after a Spotify sync: rebuild the connection's daily summary from
-- its plays (days in UTC). Rebuilt whole rather than patched, so a re-run or a late
-- play can never leave a day half-counted; a listening history is small.
create function synced.refresh_spotify_daily_summary(connection_id uuid) returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  refreshed integer;
begin
  delete from synced.spotify_daily_summary s where s.connection_id = refresh_spotify_daily_summary.connection_id;
  with plays as (
    select p.owner_id, (p.played_at at time zone 'utc')::date as day, p.track_id, t.name as track_name,
           t.duration_ms, t.artists
    from synced.spotify_plays p
    left join synced.spotify_tracks t on t.connection_id = p.connection_id and t.track_id = p.track_id
    where p.connection_id = refresh_spotify_daily_summary.connection_id
  ),
  days as (
    select day, min(owner_id::text)::uuid as owner_id, count(*)::int as plays,
           round(coalesce(sum(duration_ms), 0) / 60000.0, 1) as minutes
    from plays group by day
  ),
  tracks as (
    select day, track_id, max(track_name) as name, count(*) as n,
           row_number() over (partition by day order by count(*) desc, track_id) as rank
    from plays group by day, track_id
  ),
  artists as (
    select p.day, a ->> 'id' as artist_id, max(a ->> 'name') as name, count(*) as n,
           row_number() over (partition by p.day order by count(*) desc, a ->> 'id') as rank
    from plays p cross join lateral jsonb_array_elements(coalesce(p.artists, '[]'::jsonb)) a
    group by p.day, a ->> 'id'
  )
  insert into synced.spotify_daily_summary (connection_id, owner_id, day, plays, minutes, top_artists, top_tracks)
  select refresh_spotify_daily_summary.connection_id, d.owner_id, d.day, d.plays, d.minutes,
         coalesce((select jsonb_agg(jsonb_build_object('id', a.artist_id, 'name', a.name, 'plays', a.n) order by a.rank)
                   from artists a where a.day = d.day and a.rank <= 5), '[]'::jsonb),
         coalesce((select jsonb_agg(jsonb_build_object('id', t.track_id, 'name', t.name, 'plays', t.n) order by t.rank)
                   from tracks t where t.day = d.day and t.rank <= 5), '[]'::jsonb)
  from days d;
  get diagnostics refreshed = row_count;
  return refreshed;
end
$$;
revoke all on function synced.refresh_spotify_daily_summary(uuid) from public, anon, authenticated;
grant execute on function synced.refresh_spotify_daily_summary(uuid) to service_role;
