-- sync.tick() records the scheduler's heartbeat; only service_role may call it.
begin;
create extension if not exists pgtap with schema extensions;
select plan(3);

update sync.settings set last_tick_at = null;
select sync.tick();
select ok((select last_tick_at = now() from sync.settings), 'tick stamps last_tick_at');

set local role service_role;
select lives_ok('select sync.tick()', 'service_role may tick');
reset role;
set local role authenticated;
select throws_ok('select sync.tick()', '42501', null, 'authenticated may not');
reset role;

select * from finish();
rollback;
