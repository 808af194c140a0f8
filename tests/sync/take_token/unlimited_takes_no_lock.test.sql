-- take_token: a provider without a limit is answered without locking its row, so its
-- workers do not queue behind one another.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(3);

select pg_temp.make_provider() as unlimited \gset

-- A row lock (FOR UPDATE) stamps the row's xmax with the locking transaction's id.
select is(sync.take_token(:'unlimited'), 0::float8, 'a provider without a limit never waits');
select is((select xmax::text from sync.providers where name = :'unlimited'), '0', '...and its row was not locked');
select pg_temp.make_provider() as probe \gset
select 1 from sync.providers where name = :'probe' for update;
select isnt((select xmax::text from sync.providers where name = :'probe'), '0', 'a row locked for update does show it');

select * from finish();
rollback;
