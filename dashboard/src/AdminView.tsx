/**
 * What an operator sees: queue health per provider, the pause switch with its reason,
 * recent failures and active jobs with retry and cancel, and the last hour as a chart.
 * It refreshes every five seconds and after every action.
 */
import { useCallback, useEffect, useState } from "react";
import type { AdminJob, Health } from "../../client/mod.ts";
import { useSync } from "../../client/react.ts";
import { Chart } from "./Chart.tsx";
import { duration, when } from "./format.ts";

export function AdminView() {
  const sync = useSync();
  const [health, setHealth] = useState<Health | null>(null);
  const [failures, setFailures] = useState<AdminJob[]>([]);
  const [active, setActive] = useState<AdminJob[]>([]);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const [h, f, running, queued] = await Promise.all([
        sync.admin.health(),
        sync.admin.listJobs({ status: "failed", limit: 20 }),
        sync.admin.listJobs({ status: "running", limit: 20 }),
        sync.admin.listJobs({ status: "queued", limit: 20 }),
      ]);
      setHealth(h);
      setFailures(f);
      setActive([...running, ...queued]);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [sync]);
  useEffect(() => {
    reload();
    const timer = setInterval(reload, 5_000);
    return () => clearInterval(timer);
  }, [reload]);

  const act = (what: () => Promise<unknown>) => async () => {
    try {
      await what();
    } catch (e) {
      setError((e as Error).message);
    }
    reload();
  };

  if (!health) {
    return error ? <p className="alert" role="alert">{error}</p> : <p className="muted">Loading…</p>;
  }
  const paused = health.settings.paused;
  return (
    <>
      {error && <p className="alert" role="alert">{error}</p>}
      <section aria-labelledby="pause-title">
        <h2 id="pause-title">Processing</h2>
        <div className="row">
          <span id="pause-badge" className={`badge ${paused ? "paused" : "succeeded"}`} role="status">
            {paused ? `Paused: ${health.settings.paused_reason ?? ""}` : "Running"}
          </span>
          {paused ? <button type="button" onClick={act(() => sync.admin.resume())}>Resume</button> : (
            <form
              className="row grow"
              onSubmit={(e) => {
                e.preventDefault();
                act(() => sync.admin.pause(reason))();
              }}
            >
              <label htmlFor="pause-reason" className="visually-hidden">Reason for pausing</label>
              <input
                id="pause-reason"
                className="grow"
                required
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                placeholder="Reason, e.g. upstream outage"
              />
              <button type="submit">Pause</button>
            </form>
          )}
        </div>
      </section>

      <section aria-labelledby="health-title">
        <h2 id="health-title">Queue health</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Provider</th>
                <th className="num">Queued</th>
                <th className="num">Running</th>
                <th className="num">Succeeded</th>
                <th className="num">Failed</th>
                <th className="num">Oldest runnable</th>
                <th className="num">Failures (1 h)</th>
              </tr>
            </thead>
            <tbody>
              {health.providers.map((p) => (
                <tr key={p.provider} data-provider={p.provider}>
                  <td>{p.provider}</td>
                  <td className="num">{p.queued}</td>
                  <td className="num">{p.running}</td>
                  <td className="num">{p.succeeded}</td>
                  <td className="num">{p.failed}</td>
                  <td className="num">
                    {p.oldest_runnable_age_seconds ? duration(p.oldest_runnable_age_seconds * 1000) : "–"}
                  </td>
                  <td className="num">{p.failures_last_hour}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Last hour</h2>
        <Chart timeline={health.timeline} />
      </section>

      <section aria-labelledby="failures-title">
        <h2 id="failures-title">Recent failures</h2>
        {failures.length === 0 ? <p className="muted">None.</p> : null}
        {failures.map((j) => (
          <div className="card row" key={j.id} data-job={j.id}>
            <div className="grow">
              <strong>{j.provider}</strong>{" "}
              <span className="muted">{j.kind} · {when(j.finished_at)} · owner {j.owner_id.slice(0, 8)}</span>
              <div className="error">{j.last_error}</div>
            </div>
            <button
              type="button"
              onClick={act(() => sync.admin.retry(j.id))}
              aria-label={`Retry ${j.provider} job ${j.id.slice(0, 8)}`}
            >
              Retry
            </button>
          </div>
        ))}
      </section>

      <section aria-labelledby="active-title">
        <h2 id="active-title">Queued and running</h2>
        {active.length === 0 ? <p className="muted">None.</p> : null}
        {active.map((j) => (
          <div className="card row" key={j.id} data-job={j.id}>
            <div className="grow">
              <strong>{j.provider}</strong>{" "}
              <span className="muted">
                {j.status} · {Math.round(j.progress.percent ?? 0)}% · {j.worker ?? "waiting"}
              </span>
            </div>
            <button
              type="button"
              onClick={act(() => sync.admin.cancel(j.id))}
              aria-label={`Cancel ${j.provider} job ${j.id.slice(0, 8)}`}
            >
              Cancel
            </button>
          </div>
        ))}
      </section>
    </>
  );
}
