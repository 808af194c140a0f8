/**
 * What a user sees: their connections with "Sync now" and a live bar each, a form to add
 * one, and their history with durations, row counts, errors and the next step.
 */
import { useCallback, useEffect, useState } from "react";
import type { Connection, Job, ProviderInfo } from "../../client/mod.ts";
import { useSync, useSyncJobs } from "../../client/react.ts";
import { ConnectionForm } from "./ConnectionForm.tsx";
import { jobDuration, nextStep, stats, when } from "./format.ts";
import { ProgressBar } from "./ProgressBar.tsx";

export function UserView() {
  const sync = useSync();
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [history, setHistory] = useState<Job[]>([]);
  const [providers, setProviders] = useState<ProviderInfo[]>([]);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const [c, h] = await Promise.all([sync.connections.list(), sync.listJobs({ limit: 50 })]);
      setConnections(c);
      setHistory(h);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [sync]);
  // Auto-refresh: a finished job changes the history and the connection's last sync.
  const { byConnection, start, starting, mode } = useSyncJobs({ onComplete: reload });

  useEffect(() => {
    reload();
    sync.providers().then(setProviders, (e) => setError(e.message));
  }, [sync, reload]);

  async function syncNow(connection: Connection) {
    setError(null);
    try {
      await start(connection.id);
    } catch (e) {
      setError(`${connection.label}: ${(e as Error).message}`);
    }
  }

  async function retry(job: Job) {
    try {
      await sync.retry(job.id);
      reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const labels = new Map((connections ?? []).map((c) => [c.id, c]));
  return (
    <>
      {error && <p className="alert" role="alert">{error}</p>}
      {mode === "polling" && (
        <p className="notice">Live updates are unavailable; checking every few seconds instead.</p>
      )}
      <section aria-labelledby="connections-title">
        <h2 id="connections-title">Connections</h2>
        {connections === null
          ? <p className="muted">Loading…</p>
          : connections.length === 0
          ? <p className="muted">No connections yet: add one below.</p>
          : null}
        {(connections ?? []).map((c) => {
          const job = byConnection.get(c.id);
          const active = job && (job.status === "queued" || job.status === "running");
          return (
            <article
              className="card connection"
              key={c.id}
              data-connection={c.id}
              aria-labelledby={`conn-${c.id}`}
            >
              <div className="row">
                <div className="grow">
                  <h3 id={`conn-${c.id}`} style={{ margin: 0, fontSize: "1rem" }}>{c.label}</h3>
                  <div className="muted">
                    {c.provider} · last synced {when(c.last_synced_at)}
                    {c.auto_sync ? ` · every ${c.cadence}` : ""}
                  </div>
                </div>
                <button
                  type="button"
                  className="primary"
                  onClick={() => syncNow(c)}
                  disabled={starting.has(c.id) || Boolean(active)}
                  aria-label={`Sync ${c.label} now`}
                >
                  {active ? "Syncing…" : "Sync now"}
                </button>
              </div>
              {c.reconnect_reason && (
                <p className="notice">
                  Needs reconnecting: {c.reconnect_reason}. Add it again with new credentials.
                </p>
              )}
              {job && <ProgressBar event={job} label={`${c.label} sync progress`} />}
              {job?.status === "failed" && <p className="alert">{job.error} — {nextStep(job, c)}</p>}
            </article>
          );
        })}
      </section>

      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Started</th>
                <th>Connection</th>
                <th>Status</th>
                <th className="num">Took</th>
                <th>Synced</th>
                <th>Error and next step</th>
              </tr>
            </thead>
            <tbody>
              {history.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td>{when(j.started_at ?? j.created_at)}</td>
                  <td>{labels.get(j.connection_id)?.label ?? j.provider}</td>
                  <td>
                    <span className={`badge ${j.status}`}>{j.status}</span>
                  </td>
                  <td className="num">{jobDuration(j)}</td>
                  <td>{stats(j.stats)}</td>
                  <td>
                    {j.last_error && (j.status === "failed" || j.status === "cancelled")
                      ? (
                        <>
                          <span className="error">{j.last_error}</span>{" "}
                          <span className="muted">
                            {nextStep({ status: j.status, error: j.last_error }, labels.get(j.connection_id))}
                          </span>{" "}
                          <button type="button" onClick={() => retry(j)}>Retry</button>
                        </>
                      )
                      : j.status === "cancelled"
                      ? <button type="button" onClick={() => retry(j)}>Retry</button>
                      : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="add-connection-title">
        <h2 id="add-connection-title">Add a connection</h2>
        {providers.length > 0
          ? <ConnectionForm sync={sync} providers={providers} onCreated={reload} />
          : <p className="muted">Loading providers…</p>}
      </section>
    </>
  );
}
