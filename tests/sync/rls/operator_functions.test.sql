-- Users cannot call the operator functions; service_role can.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(12);

select pg_temp.make_provider() as provider \gset
select pg_temp.make_owner() as owner \gset
select pg_temp.make_connection(:'owner', :'provider') as conn \gset
select sync.enqueue(:'conn') as job \gset

select pg_temp.act_as(:'owner');
select throws_ok(format($$ select sync.enqueue(%L) $$, :'conn'), '42501', null, 'enqueue is refused to a user');
select throws_ok(format($$ select sync.claim(%L, 'w') $$, :'provider'), '42501', null, 'claim');
select throws_ok(format($$ select sync.checkpoint(%L, gen_random_uuid(), '{}', '{}') $$, :'job'), '42501', null, 'checkpoint');
select throws_ok(format($$ select sync.complete(%L, gen_random_uuid()) $$, :'job'), '42501', null, 'complete');
select throws_ok(format($$ select sync.fail(%L, gen_random_uuid(), 'x') $$, :'job'), '42501', null, 'fail');
select throws_ok(format($$ select sync.cancel(%L) $$, :'job'), '42501', null, 'cancel');
select throws_ok(format($$ select sync.retry(%L) $$, :'job'), '42501', null, 'retry');
select throws_ok($$ select sync.pause('x') $$, '42501', null, 'pause');
select throws_ok($$ select sync.reset_stale() $$, '42501', null, 'reset_stale');
select throws_ok($$ select sync.dispatch() $$, '42501', null, 'dispatch');
reset role;

set local role anon;
select throws_ok(format($$ select sync.cancel(%L) $$, :'job'), '42501', null, 'anon is refused too');
reset role;

set local role service_role;
select ok(sync.cancel(:'job'), 'service_role may call them');
reset role;

select * from finish();
rollback;
