-- Stand-in: Supabase Realtime's SQL surface (schema `realtime`) for Broadcast.
--
-- Hosted Realtime reads inserts into realtime.messages from the WAL and fans them out.
-- Here an AFTER INSERT trigger NOTIFYs the local Realtime server (local-stack/realtime/).
-- Postgres delivers notifications only at commit and in commit order, which gives the
-- same guarantees: a rolled-back send is never seen, and committed sends arrive in order.

create schema if not exists realtime;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

create table if not exists realtime.messages (
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  id uuid not null default gen_random_uuid(),
  primary key (id, inserted_at)
);
create index if not exists messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;
alter table realtime.messages enable row level security;
grant insert, select, update on realtime.messages to anon, authenticated, service_role;

create or replace function realtime.topic() returns text
language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql volatile
as $$
declare
  generated_id uuid := gen_random_uuid();
  final_payload jsonb;
begin
  begin
    final_payload := case when payload ? 'id' then payload else jsonb_set(payload, '{id}', to_jsonb(generated_id)) end;
    execute format('set local realtime.topic to %L', topic);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$$;

create or replace function realtime.broadcast_changes(
  topic_name text,
  event_name text,
  operation text,
  table_name text,
  table_schema text,
  new record,
  old record,
  level text default 'ROW'
) returns void
language plpgsql volatile
as $$
declare
  row_data jsonb := '{}'::jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation in ('INSERT', 'UPDATE', 'DELETE') then
    row_data := jsonb_build_object(
      'old_record', old, 'record', new, 'operation', operation, 'table', table_name, 'schema', table_schema
    );
    perform realtime.send(row_data, event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception when others then
  raise exception 'Failed to process the record: %', sqlerrm;
end
$$;

-- The local delivery path (not part of Supabase's surface). Rows the replication reader
-- would skip (authorization probes have no event or payload) are skipped here too.
-- NOTIFY payloads are capped near 8 kB, so a large message sends only its key and the
-- server reads the row.
create or replace function realtime._notify_broadcast() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  message text := json_build_object(
    'id', new.id, 'topic', new.topic, 'event', new.event, 'private', new.private, 'payload', new.payload
  )::text;
begin
  if octet_length(message) > 7900 then
    message := json_build_object('id', new.id, 'inserted_at', new.inserted_at, 'fetch', true)::text;
  end if;
  perform pg_notify('tributary_realtime', message);
  return null;
end
$$;

drop trigger if exists tributary_notify_broadcast on realtime.messages;
create trigger tributary_notify_broadcast
after insert on realtime.messages
for each row
when (new.extension = 'broadcast' and new.event is not null and new.payload is not null and new.private is not null)
execute function realtime._notify_broadcast();
