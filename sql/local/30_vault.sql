-- Stand-in: supabase_vault 0.3's SQL surface (schema `vault`).
--
-- `vault.secrets.secret` holds base64 ciphertext, never the plain secret. The root key
-- lives in a file beside the cluster's data (vault_root.key, mode 600, written at
-- initdb), not in any table, so a dump or a SELECT never yields it; that mirrors how
-- pgsodium loads Supabase's root key from outside the database.
--
-- Scheme: AES-256-CBC with a random 16-byte nonce as IV, then HMAC-SHA256 over
-- (id || nonce || ciphertext) with a separate derived key. Binding the MAC to the row
-- id plays the part of Vault's "additional data = id": a ciphertext copied into another
-- row does not decrypt.

create schema if not exists vault;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists secrets_name_idx on vault.secrets (name) where name is not null;

-- Only the cluster owner may read the key file; callers reach it through the
-- security-definer functions below, which never return it.
create or replace function vault._root_key(purpose text) returns bytea
language sql stable security definer set search_path = ''
as $$
  select extensions.hmac(convert_to(purpose, 'UTF8'), decode(trim(pg_read_file('vault_root.key')), 'hex'), 'sha256')
$$;

create or replace function vault._encrypt(plain text, secret_id uuid, nonce bytea) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  cipher bytea := extensions.encrypt_iv(convert_to(plain, 'UTF8'), vault._root_key('enc'), nonce, 'aes-cbc/pad:pkcs');
  tag bytea := extensions.hmac(uuid_send(secret_id) || nonce || cipher, vault._root_key('mac'), 'sha256');
begin
  return encode(cipher || tag, 'base64');
end
$$;

create or replace function vault._decrypt(secret text, secret_id uuid, nonce bytea) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  raw bytea := decode(secret, 'base64');
  cipher bytea := substring(raw from 1 for length(raw) - 32);
  tag bytea := substring(raw from length(raw) - 31);
begin
  if tag <> extensions.hmac(uuid_send(secret_id) || nonce || cipher, vault._root_key('mac'), 'sha256') then
    raise exception 'vault: secret % failed its integrity check', secret_id;
  end if;
  return convert_from(extensions.decrypt_iv(cipher, vault._root_key('enc'), nonce, 'aes-cbc/pad:pkcs'), 'UTF8');
end
$$;

create or replace view vault.decrypted_secrets as
select
  s.id,
  s.name,
  s.description,
  s.secret,
  vault._decrypt(s.secret, s.id, s.nonce) as decrypted_secret,
  s.key_id,
  s.nonce,
  s.created_at,
  s.updated_at
from vault.secrets s;

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql volatile security definer set search_path = ''
as $$
declare
  secret_id uuid := gen_random_uuid();
  secret_nonce bytea := extensions.gen_random_bytes(16);
begin
  insert into vault.secrets (id, name, description, secret, key_id, nonce)
  values (secret_id, new_name, new_description, vault._encrypt(new_secret, secret_id, secret_nonce), new_key_id, secret_nonce);
  return secret_id;
end
$$;

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language plpgsql volatile security definer set search_path = ''
as $$
declare
  secret_nonce bytea := extensions.gen_random_bytes(16);
begin
  update vault.secrets s
  set
    secret = case when new_secret is null then s.secret else vault._encrypt(new_secret, s.id, secret_nonce) end,
    nonce = case when new_secret is null then s.nonce else secret_nonce end,
    name = coalesce(new_name, s.name),
    description = coalesce(new_description, s.description),
    key_id = coalesce(new_key_id, s.key_id),
    updated_at = now()
  where s.id = secret_id;
end
$$;

revoke all on schema vault from public;
revoke all on all tables in schema vault from public, anon, authenticated;
revoke all on all functions in schema vault from public, anon, authenticated;
grant usage on schema vault to postgres, service_role;
grant select, delete on vault.secrets, vault.decrypted_secrets to postgres, service_role;
grant execute on function vault.create_secret(text, text, text, uuid) to postgres, service_role;
grant execute on function vault.update_secret(uuid, text, text, text, uuid) to postgres, service_role;
-- The view calls _decrypt with the reader's privileges.
grant execute on function vault._decrypt(text, uuid, bytea) to postgres, service_role;
