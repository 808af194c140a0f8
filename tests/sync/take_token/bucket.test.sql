-- take_token: a shared token bucket per provider that says how long to wait.
begin;
create extension if not exists pgtap with schema extensions;
\ir ../_fixtures.sql
select plan(6);

select pg_temp.make_provider(rpm => 60, burst => 3) as limited \gset
select pg_temp.make_provider() as unlimited \gset

select is(sync.take_token(:'limited'), 0::float8, 'first token: go');
select is(sync.take_token(:'limited'), 0::float8, 'second: go');
select is(sync.take_token(:'limited'), 0::float8, 'third (the burst): go');
select ok(sync.take_token(:'limited') between 0.9 and 1.0, 'fourth: wait about a second (60 per minute)');
select is(sync.take_token(:'unlimited'), 0::float8, 'a provider without a limit never waits');
select throws_ok(format($$ select sync.take_token(%L, 5) $$, :'limited'), '22023', null, 'asking for more than the bucket holds is an error');

select * from finish();
rollback;
