-- Who may see and do what.
--
-- RLS is on for every table. Users read only their own connections, jobs, events and
-- synced rows; admins (app_metadata.role = 'admin' in their JWT) read everything.
-- Queue state is written only by service_role and the security-definer functions, so
-- no user-facing grant includes insert, update or delete on sync.jobs.

-- True when the caller's JWT says they are an admin. app_metadata is set by the
-- server (Supabase Auth admin API), never by the user, so it is safe to trust.
create function sync.is_admin() returns boolean
language sql stable
set search_path = ''
as $$
  select coalesce((select auth.jwt()) -> 'app_metadata' ->> 'role' = 'admin', false)
$$;

-- Parses a uuid without raising, for topics and paths that may be malformed.
create function sync.try_uuid(value text) returns uuid
language sql immutable
set search_path = ''
as $$
  select case when value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then value::uuid end
$$;

alter table sync.providers enable row level security;
alter table sync.connections enable row level security;
alter table sync.jobs enable row level security;
alter table sync.job_events enable row level security;
alter table synced.records enable row level security;
alter table synced.ad_metrics_daily enable row level security;

-- Grants: reading is granted and RLS filters rows; service_role writes (and bypasses RLS).
grant select on sync.providers, sync.connections, sync.jobs, sync.job_events to authenticated;
grant select on synced.records, synced.ad_metrics_daily to authenticated;
grant select, insert, update, delete on all tables in schema sync to service_role;
grant select, insert, update, delete on all tables in schema synced to service_role;
grant usage on all sequences in schema sync to service_role;
revoke all on sync.settings from authenticated;
grant execute on function sync.is_admin() to authenticated, service_role;
grant execute on function sync.try_uuid(text) to authenticated, service_role;

create policy "providers are visible to signed-in users" on sync.providers
  for select to authenticated using (true);

create policy "owners and admins read connections" on sync.connections
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

create policy "owners and admins read jobs" on sync.jobs
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

create policy "owners and admins read job events" on sync.job_events
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

create policy "owners and admins read records" on synced.records
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

create policy "owners and admins read ad metrics" on synced.ad_metrics_daily
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));

-- Realtime: who may join the progress topics. A user joins sync:user:<their id> and
-- sync:job:<id> of their own jobs; admins join all. Only the database sends on them.
create policy "sync progress topics: owners and admins listen" on realtime.messages
  for select to authenticated
  using (
    realtime.messages.extension = 'broadcast'
    and (
      (select realtime.topic()) = 'sync:user:' || (select auth.uid())::text
      or exists (
        select 1 from sync.jobs j
        where (select realtime.topic()) like 'sync:job:%'
          and j.id = sync.try_uuid(substr((select realtime.topic()), 10))
          and j.owner_id = (select auth.uid())
      )
      or ((select realtime.topic()) like 'sync:%' and (select sync.is_admin()))
    )
  );
