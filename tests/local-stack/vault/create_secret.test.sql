-- vault.create_secret stores ciphertext; decrypted_secrets gives back the plaintext.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

select vault.create_secret('sk_live_plaintext_value', 'test-create-secret', 'a test key') as id \gset

select isnt((select secret from vault.secrets where id = :'id'), 'sk_live_plaintext_value', 'the stored secret is not the plaintext');
select ok((select position('sk_live' in secret) = 0 and position('sk_live' in encode(decode(secret, 'base64'), 'escape')) = 0
           from vault.secrets where id = :'id'), 'the plaintext appears nowhere in the stored value');
select is((select length(nonce) from vault.secrets where id = :'id'), 16, 'each secret has its own 16-byte nonce');
select is((select decrypted_secret from vault.decrypted_secrets where id = :'id'), 'sk_live_plaintext_value', 'decrypted_secrets returns the plaintext');
select is((select description from vault.secrets where id = :'id'), 'a test key', 'the description is kept');
select isnt(
  (select secret from vault.secrets where id = vault.create_secret('sk_live_plaintext_value')),
  (select secret from vault.secrets where id = :'id'),
  'the same plaintext encrypts differently each time'
);
select throws_ok($$ select vault.create_secret('x', 'test-create-secret') $$, '23505', null, 'names are unique');

select * from finish();
rollback;
