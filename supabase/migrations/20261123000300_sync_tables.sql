-- The queue's tables: providers, connections, jobs and their event log.
--
-- Users read their own rows through RLS (next migration); only service_role and the
-- security-definer functions write queue state. No table holds a credential: a
-- connection points at its Vault secret by id.

create type sync.job_status as enum ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- One row per data provider, with its limits shared by every worker.
create table sync.providers (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9-]*$'),
  enabled boolean not null default true,
  -- At most this many running jobs at once (null: no cap).
  max_concurrency integer check (max_concurrency > 0),
  -- Token bucket shared by every worker: refills at requests_per_minute, holds at most
  -- `burst` tokens (null: one minute's worth). Null rate: no limit.
  requests_per_minute integer check (requests_per_minute > 0),
  burst integer check (burst > 0),
  bucket_tokens double precision,
  bucket_refilled_at timestamptz,
  created_at timestamptz not null default now()
);

insert into sync.providers (name, max_concurrency, requests_per_minute) values
  ('http-json', 8, null),
  ('steam', 2, 100),
  ('spotify', 4, 180),
  ('google-sheets', 4, 60),
  ('google-ads', 4, 60),
  ('meta-ads', 4, 200),
  ('linkedin-ads', 2, 100),
  ('tiktok-ads', 2, 600);

create table sync.connections (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  provider text not null references sync.providers (name),
  label text not null check (length(label) between 1 and 200),
  -- Non-secret account settings (an account id, a spreadsheet id, a URL).
  account jsonb not null default '{}'::jsonb check (jsonb_typeof(account) = 'object'),
  -- vault.secrets.id of the credentials; the credentials themselves never leave Vault.
  credentials_secret_id uuid,
  auto_sync boolean not null default false,
  cadence interval not null default '1 day' check (cadence >= interval '5 minutes'),
  lookback_days integer not null default 7 check (lookback_days between 0 and 3650),
  next_sync_at timestamptz,
  -- The final cursor of the last successful job: where the next incremental sync starts.
  high_watermark jsonb,
  last_synced_at timestamptz,
  consecutive_failures integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index connections_owner_idx on sync.connections (owner_id);
create index connections_due_idx on sync.connections (next_sync_at) where auto_sync;

create table sync.jobs (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  connection_id uuid not null references sync.connections (id) on delete cascade,
  provider text not null references sync.providers (name),
  kind text not null default 'incremental' check (length(kind) between 1 and 100),
  status sync.job_status not null default 'queued',
  priority integer not null default 0,
  run_at timestamptz not null default now(),
  -- Fairness: the job's place in its owner's line for this provider. The claim orders
  -- by lane before run_at, so each owner's first job goes before anyone's second.
  lane integer not null default 1,
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts > 0),
  lease_token uuid,
  lease_expires_at timestamptz,
  lease_seconds integer not null default 120 check (lease_seconds > 0),
  worker text,
  cursor jsonb,
  progress jsonb not null default '{"phase": "queued", "done": 0, "total": null, "percent": 0, "message": null}'::jsonb,
  stats jsonb not null default '{}'::jsonb,
  params jsonb not null default '{}'::jsonb,
  dry_run boolean not null default false,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint running_has_lease check (status <> 'running' or (lease_token is not null and lease_expires_at is not null))
);

-- Exactly the runnable set, in claim order: the claim is a short scan of this index
-- however deep the queue is. (run_at <= now() cannot be in a partial-index predicate,
-- as now() is not immutable; delayed retries are few and skipped during the scan.)
create index jobs_runnable_idx on sync.jobs (provider, priority desc, lane, run_at, id) where status = 'queued';
-- Running jobs: the concurrency count and the stale-lease sweep.
create index jobs_running_idx on sync.jobs (provider, lease_expires_at) where status = 'running';
-- Dedupe: one queued-or-running job per connection and kind.
create unique index jobs_active_unique on sync.jobs (connection_id, kind) where status in ('queued', 'running');
-- An owner's place in line (fairness), and users listing their jobs.
create index jobs_owner_lane_idx on sync.jobs (provider, owner_id, lane desc) where status = 'queued';
create index jobs_owner_idx on sync.jobs (owner_id, created_at desc);
-- Cleanup of finished jobs.
create index jobs_finished_idx on sync.jobs (finished_at) where status in ('succeeded', 'failed', 'cancelled');

-- Append-only history of every transition, for operators and for users' own jobs.
create table sync.job_events (
  id bigint generated always as identity primary key,
  job_id uuid not null references sync.jobs (id) on delete cascade,
  owner_id uuid not null,
  event text not null,
  status sync.job_status not null,
  attempt integer not null default 0,
  message text,
  data jsonb,
  created_at timestamptz not null default now()
);
create index job_events_job_idx on sync.job_events (job_id, id);
create index job_events_owner_idx on sync.job_events (owner_id, id desc);

-- Synced data. Every row carries its connection and owner and has a natural key, so a
-- re-run upserts instead of duplicating.
create table synced.records (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  external_id text not null,
  data jsonb not null,
  synced_at timestamptz not null default now(),
  primary key (connection_id, external_id)
);
create index records_owner_idx on synced.records (owner_id);

create table synced.ad_metrics_daily (
  connection_id uuid not null references sync.connections (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  provider text not null,
  account_id text not null,
  campaign_id text not null,
  campaign_name text,
  date date not null,
  impressions bigint not null default 0,
  clicks bigint not null default 0,
  spend numeric(18, 6) not null default 0,
  conversions numeric(18, 6) not null default 0,
  currency text,
  synced_at timestamptz not null default now(),
  primary key (connection_id, account_id, campaign_id, date)
);
create index ad_metrics_daily_owner_idx on synced.ad_metrics_daily (owner_id, date);
