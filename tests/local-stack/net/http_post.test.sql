-- net.http_post queues a request with pg_net's defaults and checks.
begin;
create extension if not exists pgtap with schema extensions;
select plan(8);

select net.http_post('http://example.test/hook', '{"a": 1}'::jsonb, '{"q": "x y"}'::jsonb, '{}'::jsonb) as id \gset
select is((select method from net.http_request_queue where id = :id), 'POST', 'queued as a POST');
select is((select url from net.http_request_queue where id = :id), 'http://example.test/hook?q=x%20y', 'params are URL-encoded onto the URL');
select is((select headers ->> 'Content-Type' from net.http_request_queue where id = :id), 'application/json',
  'Content-Type is added when missing');
select is((select convert_from(body, 'UTF8')::jsonb from net.http_request_queue where id = :id), '{"a": 1}'::jsonb, 'the body is the JSON');
select is((select timeout_milliseconds from net.http_request_queue where id = :id), 5000, 'the default timeout is 5000 ms');

select throws_ok($$ select net.http_post('http://example.test', headers => '{"content-type": "text/plain"}'::jsonb) $$,
  'Content-Type header must be "application/json"', 'another content type is refused');
select lives_ok($$ select net.http_post('http://example.test', headers => '{"content-type": "application/json"}'::jsonb) $$,
  'the header name is matched without regard to case');

select net.http_get('http://example.test/p?x=1#frag', '{"y": "é"}'::jsonb) as get_id \gset
select is(
  (select url from net.http_request_queue where id = :get_id),
  'http://example.test/p?x=1&y=%C3%A9#frag',
  'params join an existing query, before the fragment, as UTF-8'
);

select * from finish();
rollback;
