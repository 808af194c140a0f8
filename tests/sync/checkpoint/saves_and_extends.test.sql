-- checkpoint saves cursor, progress and stats, extends the lease, and derives percent.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w', 1, 30) \gset
update sync.jobs set lease_expires_at = now() + interval '1 second' where id = :'job';

select ok(sync.checkpoint(:'job', :'token', '{"page": 3}'::jsonb,
  '{"phase": "downloading", "done": 30, "total": 120, "message": "page 3"}'::jsonb, '{"rows": 30}'::jsonb),
  'a checkpoint with the current token succeeds');
select is((select cursor from sync.jobs where id = :'job'), '{"page": 3}'::jsonb, 'the cursor is saved');
select is((select progress ->> 'percent' from sync.jobs where id = :'job'), '25.0', 'percent is derived from done/total');
select is((select progress ->> 'message' from sync.jobs where id = :'job'), 'page 3', 'the message is kept');
select is((select stats from sync.jobs where id = :'job'), '{"rows": 30}'::jsonb, 'stats are saved');
select is((select lease_expires_at from sync.jobs where id = :'job'), now() + interval '30 seconds', 'the lease is renewed');

select * from finish();
rollback;
