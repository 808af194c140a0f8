-- realtime.broadcast_changes sends a row change in Supabase's shape.
begin;
create extension if not exists pgtap with schema extensions;
select plan(3);

create temporary table things (id int, name text);
insert into things values (1, 'new');

select realtime.broadcast_changes('things:1', 'UPDATE', 'UPDATE', 'things', 'public',
  (select t from things t where id = 1), row(1, 'old')::things);
select is((select payload -> 'record' ->> 'name' from realtime.messages where topic = 'things:1'), 'new', 'the new record');
select is((select payload -> 'old_record' ->> 'name' from realtime.messages where topic = 'things:1'), 'old', 'the old record');
select throws_like($$ select realtime.broadcast_changes('t', 'e', 'TRUNCATE', 'things', 'public', null, null) $$,
  '%Unexpected operation type%', 'other operations are refused');

select * from finish();
rollback;
