-- auth.users accepts the minimal row Supabase projects insert in tests and seeds.
begin;
create extension if not exists pgtap with schema extensions;
select plan(4);

select lives_ok($$ insert into auth.users (id, email) values ('00000000-0000-0000-0000-0000000000a1', 'a1@example.test') $$,
  'a row with only id and email is valid');
select has_column('auth', 'users', 'raw_app_meta_data', 'users have raw_app_meta_data');
select has_column('auth', 'users', 'raw_user_meta_data', 'users have raw_user_meta_data');
select isnt((select created_at from auth.users where id = '00000000-0000-0000-0000-0000000000a1'), null, 'created_at is filled in');

select * from finish();
rollback;
