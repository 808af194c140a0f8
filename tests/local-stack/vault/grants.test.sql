-- Only postgres and service_role can read Vault; anon and authenticated get permission errors.
begin;
create extension if not exists pgtap with schema extensions;
select plan(11);

select vault.create_secret('for service_role only', 'test-grants') as id \gset

set local role service_role;
select is((select decrypted_secret from vault.decrypted_secrets where name = 'test-grants'), 'for service_role only',
  'service_role reads decrypted_secrets');
select lives_ok($$ select vault.create_secret('made by service_role', 'test-grants-2') $$, 'service_role can create secrets');
select throws_ok($$ select vault._root_key('enc') $$, '42501', null, 'service_role cannot call the key function');
select throws_ok($$ select pg_read_file('vault_root.key') $$, '42501', null, 'service_role cannot read the key file');
select throws_ok($$ insert into vault.secrets (secret) values ('plain') $$, '42501', null, 'nobody inserts plaintext rows directly');
reset role;

set local role authenticated;
select throws_ok($$ select * from vault.secrets $$, '42501', null, 'authenticated cannot read vault.secrets');
select throws_ok($$ select * from vault.decrypted_secrets $$, '42501', null, 'authenticated cannot read decrypted_secrets');
select throws_ok($$ select vault.create_secret('x') $$, '42501', null, 'authenticated cannot create secrets');
reset role;

set local role anon;
select throws_ok($$ select * from vault.decrypted_secrets $$, '42501', null, 'anon cannot read decrypted_secrets');
select throws_ok(format($$ select vault.update_secret(%L, 'x') $$, :'id'), '42501', null, 'anon cannot update secrets');
select throws_ok($$ select vault._decrypt('', gen_random_uuid(), ''::bytea) $$, '42501', null, 'anon cannot call the decrypt helper');
reset role;

select * from finish();
rollback;
