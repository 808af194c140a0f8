-- Platform extensions Tributary relies on.
--
-- Hosted Supabase ships pg_cron and pg_net as extensions to enable. The local stack
-- preloads Debian's pg_cron and provides pg_net's schema itself, so each `create
-- extension` is guarded: it runs only where the extension is packaged.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
  end if;
  if exists (select from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;
