-- realtime.send stores a broadcast the way Supabase's does, and never raises.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

select realtime.send('{"n": 1}'::jsonb, 'progress', 'sync:test:send');
select is((select count(*)::int from realtime.messages where topic = 'sync:test:send'), 1, 'one message is stored');
select is((select extension from realtime.messages where topic = 'sync:test:send'), 'broadcast', 'as a broadcast');
select ok((select private from realtime.messages where topic = 'sync:test:send'), 'private by default');
select is((select payload ->> 'id' from realtime.messages where topic = 'sync:test:send'),
          (select id::text from realtime.messages where topic = 'sync:test:send'), 'payload.id is added: the message id');

select realtime.send('{"id": "mine"}'::jsonb, 'e', 'sync:test:send-id', false);
select is((select payload ->> 'id' from realtime.messages where topic = 'sync:test:send-id'), 'mine', 'an existing payload.id is kept');

select lives_ok($$ select realtime.send('"not an object"'::jsonb, 'e', 'sync:test:bad') $$, 'errors become warnings');

select set_config('realtime.topic', 'sync:user:abc', true);
select is(realtime.topic(), 'sync:user:abc', 'realtime.topic() reads the topic setting');

select * from finish();
rollback;
