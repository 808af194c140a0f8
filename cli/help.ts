/** `sync --help`: every command and flag, in one place. */
export const HELP =
  `sync: Tributary's command line. Start syncs, watch them, manage connections and the queue.

Usage: sync <command> [options]
       (npm run -s sync -- <command>, deno task sync <command>, or npx tributary-sync <command>)

Commands:
  login --token <token|-> [--url <url>] [--anon-key <key>]
                               Check a user's access token and store it (- reads it from stdin).
                               Defaults to the local stack (npm start prints a demo token).
  logout                       Forget the stored token.
  whoami                       Who the stored token belongs to.

  connections list             Your connections, with their sync settings.
  connections add <provider> --label <label> [--account <json>] [--credentials <json|->]
                               Connect a data source. Credentials go to Vault (- reads them from stdin).
  connections update <connection> [--label <label>] [--auto-sync on|off] [--cadence "<interval>"]
                               [--lookback-days <n>] [--credentials <json|->]
                               Change settings; new credentials reconnect an account.
  connections remove <connection>
  providers                    What each provider can run and needs to connect.

  start <connection> [--kind <kind>] [--params <json>] [--dry-run] [--watch]
                               Queue a sync. --watch draws its progress until it ends.
  jobs list [--status <status>] [--limit <n>]
  jobs show <job>
  jobs watch <job>             Draw a job's progress until it ends.
  jobs cancel <job>
  jobs retry <job> [--watch]   Queue a failed or cancelled job again, from its last cursor.

  admin health                 Queue health per provider, the pause switch, recent runs.
  admin pause <reason>         Stop claiming jobs (running ones finish their chunk).
  admin resume
  admin jobs [--status <status>] [--provider <name>] [--limit <n>]
  admin retry <job>            Retry anyone's job.   admin cancel <job>   Cancel anyone's job.

  <connection> is a connection's id or its label. <status> is one of queued, running,
  succeeded, failed, cancelled.

Options:
  --json                       Print JSON instead of tables and bars.
  -h, --help                   This help.

Environment:
  TRIBUTARY_URL, TRIBUTARY_ANON_KEY, TRIBUTARY_TOKEN   override the stored login
  TRIBUTARY_CONFIG             where the login is stored (default ~/.config/tributary/cli.json)

Exit status: 0 done; 1 the command or the job failed; 2 the command line was wrong.
`;
