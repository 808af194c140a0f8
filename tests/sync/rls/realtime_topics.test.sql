-- Who may join the progress topics, checked the way Realtime checks: as the user, can
-- they read a message on that topic?
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as alice \gset
select pg_temp.make_owner() as bob \gset
select pg_temp.make_owner('admin') as admin \gset
select sync.enqueue(pg_temp.make_connection(:'alice', :'provider')) as job \gset

create function pg_temp.can_join(user_id uuid, topic text, app_role text default null) returns boolean
language plpgsql as $$
declare
  probe uuid := gen_random_uuid();
  seen boolean;
begin
  insert into realtime.messages (id, topic, extension) values (probe, topic, 'broadcast');
  perform set_config('realtime.topic', topic, true);
  perform pg_temp.act_as(user_id, app_role);
  select exists (select 1 from realtime.messages where id = probe) into seen;
  perform set_config('role', 'postgres', true);
  return seen;
end
$$;

select ok(pg_temp.can_join(:'alice', 'sync:user:' || :'alice'), 'alice joins her user topic');
select ok(pg_temp.can_join(:'alice', 'sync:job:' || :'job'), 'and her job''s topic');
select ok(not pg_temp.can_join(:'bob', 'sync:user:' || :'alice'), 'bob cannot join alice''s user topic');
select ok(not pg_temp.can_join(:'bob', 'sync:job:' || :'job'), 'nor her job''s topic');
select ok(not pg_temp.can_join(:'alice', 'sync:job:not-a-uuid'), 'a malformed job topic is simply refused');
select ok(pg_temp.can_join(:'admin', 'sync:job:' || :'job', 'admin'), 'an admin joins any sync topic');

select * from finish();
rollback;
