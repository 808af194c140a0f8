-- auth.uid(), role(), email() and jwt() read the request's JWT claims, as on Supabase.
begin;
create extension if not exists pgtap with schema extensions;
select plan(9);

select is(auth.uid(), null, 'no claims, no uid');
select set_config('request.jwt.claims',
  '{"sub": "11111111-2222-3333-4444-555555555555", "role": "authenticated", "email": "u@example.test", "app_metadata": {"role": "admin"}}',
  true);
select is(auth.uid(), '11111111-2222-3333-4444-555555555555'::uuid, 'uid() is the sub claim');
select is(auth.role(), 'authenticated', 'role() is the role claim');
select is(auth.email(), 'u@example.test', 'email() is the email claim');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'jwt() returns all claims');

select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select ok(not (select rolbypassrls from pg_roles where rolname = 'authenticated'), 'authenticated does not');
select ok(pg_has_role('authenticator', 'authenticated', 'member'), 'authenticator can become authenticated');

set local role authenticated;
select is(auth.uid(), '11111111-2222-3333-4444-555555555555'::uuid, 'authenticated may call auth.uid()');
reset role;

select * from finish();
rollback;
