-- Helpers for the sync pgTAP tests, pulled in with `\ir ../_fixtures.sql`. They live in
-- pg_temp, so they vanish with the session and never touch the schema under test.
-- Each test also uses a provider of its own, so jobs other tests leave behind never
-- show up in its claims.

create function pg_temp.make_owner(app_role text default null) returns uuid
language sql as $$
  insert into auth.users (id, email, raw_app_meta_data)
  values (gen_random_uuid(), 'owner-' || substr(md5(random()::text), 1, 10) || '@example.test',
          case when app_role is null then '{}'::jsonb else jsonb_build_object('role', app_role) end)
  returning id
$$;

create function pg_temp.make_provider(cap integer default null, rpm integer default null, burst integer default null)
returns text
language sql as $$
  insert into sync.providers (name, max_concurrency, requests_per_minute, burst)
  values ('test-' || substr(md5(random()::text), 1, 10), cap, rpm, burst)
  returning name
$$;

create function pg_temp.make_connection(owner uuid, provider text) returns uuid
language sql as $$
  insert into sync.connections (owner_id, provider, label) values (owner, provider, 'test connection') returning id
$$;

-- Acts as a signed-in user for the rest of the transaction, as PostgREST would.
create function pg_temp.act_as(user_id uuid, app_role text default null) returns void
language sql as $$
  select set_config('request.jwt.claims', jsonb_build_object(
    'sub', user_id, 'role', 'authenticated',
    'app_metadata', case when app_role is null then '{}'::jsonb else jsonb_build_object('role', app_role) end)::text, true);
  select set_config('role', 'authenticated', true);
$$;

-- The dispatch tests' own Vault secrets (rolled back with the test); any set before are
-- renamed out of the way.
create function pg_temp.use_test_dispatch_secrets() returns void
language sql as $$
  update vault.secrets set name = name || '-saved-' || id where name in ('tributary_project_url', 'tributary_worker_secret');
  select vault.create_secret('http://127.0.0.1:9', 'tributary_project_url');
  select vault.create_secret('worker-secret-for-test', 'tributary_worker_secret');
$$;
