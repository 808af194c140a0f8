-- A ciphertext is bound to its row: copied into another row, it does not decrypt.
begin;
create extension if not exists pgtap with schema extensions;
select plan(2);

select vault.create_secret('secret of A') as a \gset
select vault.create_secret('secret of B') as b \gset

update vault.secrets set secret = (select secret from vault.secrets where id = :'a'),
                         nonce = (select nonce from vault.secrets where id = :'a')
where id = :'b';

select throws_like(format($$ select decrypted_secret from vault.decrypted_secrets where id = %L $$, :'b'),
  '%failed its integrity check%', 'a swapped ciphertext is refused');
select is((select decrypted_secret from vault.decrypted_secrets where id = :'a'), 'secret of A', 'the original still decrypts');

select * from finish();
rollback;
