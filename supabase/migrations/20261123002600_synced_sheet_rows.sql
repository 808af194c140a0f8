-- Google Sheets rows. The header row names the columns, so `data` is {header: cell}.
-- A row's key is the value of the connection's key column when it has one (rows keep
-- their identity when the sheet is re-sorted), else its row number.
create table synced.sheet_rows (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  sheet text not null,
  row_key text not null,
  row_number integer not null,
  data jsonb not null,
  synced_at timestamptz not null default now(),
  primary key (connection_id, sheet, row_key)
);
create index sheet_rows_owner_idx on synced.sheet_rows (owner_id);

alter table synced.sheet_rows enable row level security;
grant select on synced.sheet_rows to authenticated;
grant select, insert, update, delete on synced.sheet_rows to service_role;
create policy "owners and admins read sheet rows" on synced.sheet_rows
  for select to authenticated using (owner_id = (select auth.uid()) or (select sync.is_admin()));
