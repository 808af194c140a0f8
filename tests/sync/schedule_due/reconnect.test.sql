-- A connection that needs reconnecting is not scheduled: every run would be refused the
-- same way. New credentials (reconnect_reason cleared) put it back on its cadence.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(3);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as revoked \gset
update sync.connections set next_sync_at = now() + interval '1 day' where auto_sync and provider <> :'provider';
update sync.connections set auto_sync = true, next_sync_at = now() - interval '1 minute',
  reconnect_reason = 'Spotify no longer accepts this account''s sign-in (invalid_grant).'
where id = :'revoked';

select is(sync.schedule_due(), 0, 'a connection needing a reconnect is skipped');
select is((select count(*)::int from sync.jobs where connection_id = :'revoked'), 0, 'and gets no job');
update sync.connections set reconnect_reason = null where id = :'revoked';
select is(sync.schedule_due(), 1, 'once reconnected, it is scheduled again');

select * from finish();
rollback;
