-- complete marks success; its final cursor becomes the connection's high-watermark.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(8);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_connection(pg_temp.make_owner(), :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset
select lease_token as token from sync.claim(:'provider', 'w') \gset
select sync.checkpoint(:'job', :'token', '{"page": 4}'::jsonb, '{"done": 4, "total": 5}'::jsonb);

select ok(sync.complete(:'job', :'token', '{"rows": 42}'::jsonb, '{"highwatermark": "1234"}'::jsonb), 'complete succeeds');
select is((select status::text from sync.jobs where id = :'job'), 'succeeded', 'the job succeeded');
select is((select progress ->> 'percent' from sync.jobs where id = :'job'), '100', 'at 100 percent');
select is((select progress ->> 'done' from sync.jobs where id = :'job'), '5', 'with done caught up with total (the last chunk is not checkpointed)');
select is((select high_watermark from sync.connections where id = :'conn'), '{"highwatermark": "1234"}'::jsonb,
  'the final cursor is the high-watermark');
select ok(not sync.complete(:'job', :'token'), 'completing twice is refused');

-- A dry run leaves the watermark alone.
select sync.enqueue(:'conn') as dry \gset
update sync.jobs set dry_run = true where id = :'dry';
select lease_token as dry_token from sync.claim(:'provider', 'w') \gset
select ok(sync.complete(:'dry', :'dry_token', '{}'::jsonb, '{"highwatermark": "9999"}'::jsonb), 'a dry run completes');
select is((select high_watermark from sync.connections where id = :'conn'), '{"highwatermark": "1234"}'::jsonb,
  'but does not move the watermark');

select * from finish();
rollback;
