-- vault.update_secret re-encrypts a new value and keeps what it is not given.
begin;
create extension if not exists pgtap with schema extensions;
select plan(5);

select vault.create_secret('first value', 'test-update-secret', 'before') as id \gset
select secret as old_cipher from vault.secrets where id = :'id' \gset

select lives_ok(format($$ select vault.update_secret(%L, 'second value') $$, :'id'), 'updating the value works');
select is((select decrypted_secret from vault.decrypted_secrets where id = :'id'), 'second value', 'the new value decrypts');
select isnt((select secret from vault.secrets where id = :'id'), :'old_cipher', 'the ciphertext changed');
select is((select name || '/' || description from vault.secrets where id = :'id'), 'test-update-secret/before', 'name and description are kept');

select vault.update_secret(:'id', new_description => 'after');
select is((select decrypted_secret || '/' || description from vault.decrypted_secrets where id = :'id'), 'second value/after',
  'updating only the description keeps the value');

select * from finish();
rollback;
