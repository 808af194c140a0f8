-- net._http_collect_response reports pg_net's three outcomes.
begin;
create extension if not exists pgtap with schema extensions;
select plan(5);

select is((net._http_collect_response(-42)).status::text, 'ERROR', 'an unknown request is an error');
select is((net._http_collect_response(-42)).message, 'request matching request_id not found', 'with pg_net''s message');

insert into net._http_response (id, status_code, headers, content, timed_out, error_msg)
values (-43, null, null, null, true, 'Timeout of 5 ms reached.'),
       (-44, 201, '{"x": "y"}', 'made', false, null);
select is((net._http_collect_response(-43)).message, 'Timeout of 5 ms reached.', 'a failed request reports its error');
select is((net._http_collect_response(-44)).status::text, 'SUCCESS', 'a delivered request is a success');
select is(((net._http_collect_response(-44)).response).body, 'made', 'with the response body');

select * from finish();
rollback;
