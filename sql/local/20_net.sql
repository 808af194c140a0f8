-- Stand-in: pg_net's SQL surface (schema `net`, as of pg_net 0.19/0.20).
--
-- The real extension queues a row per request and a background worker sends it after
-- commit. Here the same tables and functions exist, and the worker is a process of the
-- local stack (local-stack/net-worker.ts) woken by NOTIFY, which Postgres delivers only
-- when the enqueuing transaction commits. A rolled-back request is therefore never sent.

create schema if not exists net;
grant usage on schema net to postgres, anon, authenticated, service_role, supabase_functions_admin;

do $$
begin
  if not exists (select from pg_type where typname = 'request_status' and typnamespace = 'net'::regnamespace) then
    create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');
  end if;
  if not exists (select from pg_type where typname = 'http_response' and typnamespace = 'net'::regnamespace) then
    create type net.http_response as (status_code integer, headers jsonb, body text);
  end if;
  if not exists (select from pg_type where typname = 'http_response_result' and typnamespace = 'net'::regnamespace) then
    create type net.http_response_result as (status net.request_status, message text, response net.http_response);
  end if;
end
$$;

create unlogged table if not exists net.http_request_queue (
  id bigserial,
  method text not null check (method in ('GET', 'POST', 'DELETE')),
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

-- What pg_net's C function net.wake() does: nudge the worker. NOTIFY is queued until
-- commit and collapses duplicates within a transaction, so one commit wakes it once.
create or replace function net.wake() returns void
language sql volatile set search_path = ''
as $$ select pg_notify('tributary_net_wake', '') $$;

-- RFC 3986 percent-encoding of everything but the unreserved characters, byte by byte.
create or replace function net._urlencode_string(string text) returns text
language plpgsql immutable strict set search_path = ''
as $$
declare
  bytes bytea := convert_to(string, 'UTF8');
  out text := '';
  b int;
begin
  for i in 0 .. length(bytes) - 1 loop
    b := get_byte(bytes, i);
    if (b between 48 and 57) or (b between 65 and 90) or (b between 97 and 122) or b in (45, 46, 95, 126) then
      out := out || chr(b);
    else
      out := out || '%' || upper(lpad(to_hex(b), 2, '0'));
    end if;
  end loop;
  return out;
end
$$;

-- Appends already-encoded `key=value` pairs to a URL's query, before any fragment.
create or replace function net._encode_url_with_params_array(url text, params_array text[]) returns text
language plpgsql immutable strict set search_path = ''
as $$
declare
  base text := split_part(url, '#', 1);
  fragment text := substr(url, length(base) + 1);
begin
  if cardinality(params_array) = 0 then
    return url;
  end if;
  return base || case when position('?' in base) > 0 then '&' else '?' end
    || array_to_string(params_array, '&') || fragment;
end
$$;

create or replace function net._params_array(params jsonb) returns text[]
language sql immutable set search_path = ''
as $$
  select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
  from jsonb_each_text(coalesce(params, '{}'::jsonb))
$$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, net._params_array(params)), headers, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  request_id bigint;
  content_type text;
begin
  select value into content_type
  from jsonb_each_text(coalesce(headers, '{}'::jsonb))
  where lower(key) = 'content-type'
  limit 1;

  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;

  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values (
    'POST',
    net._encode_url_with_params_array(url, net._params_array(params)),
    headers,
    convert_to(body::text, 'UTF8'),
    timeout_milliseconds
  )
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create or replace function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000,
  body jsonb default null
) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values (
    'DELETE',
    net._encode_url_with_params_array(url, net._params_array(params)),
    headers,
    convert_to(body::text, 'UTF8'),
    timeout_milliseconds
  )
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create or replace function net._http_collect_response(request_id bigint, async boolean default true)
returns net.http_response_result
language plpgsql volatile set search_path = ''
as $$
declare
  rec net._http_response;
begin
  if not async then
    -- Each query in PL/pgSQL takes a new snapshot, so a response committed by the
    -- worker while we sleep becomes visible on the next pass.
    loop
      select * into rec from net._http_response where id = request_id;
      exit when found;
      perform pg_sleep(0.05);
    end loop;
  else
    select * into rec from net._http_response where id = request_id;
  end if;

  if rec.id is null or rec.error_msg is not null then
    return row('ERROR', coalesce(rec.error_msg, 'request matching request_id not found'), null)::net.http_response_result;
  end if;
  return row(
    'SUCCESS', 'ok', row(rec.status_code, rec.headers, rec.content)::net.http_response
  )::net.http_response_result;
end
$$;

-- As Supabase's grant_pg_net_access event trigger does when pg_net is enabled.
revoke all on function net.http_get(text, jsonb, jsonb, integer) from public;
revoke all on function net.http_post(text, jsonb, jsonb, jsonb, integer) from public;
revoke all on function net.http_delete(text, jsonb, jsonb, integer, jsonb) from public;
grant execute on function net.http_get(text, jsonb, jsonb, integer)
  to postgres, anon, authenticated, service_role, supabase_functions_admin;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer)
  to postgres, anon, authenticated, service_role, supabase_functions_admin;
grant execute on function net.http_delete(text, jsonb, jsonb, integer, jsonb)
  to postgres, anon, authenticated, service_role, supabase_functions_admin;
