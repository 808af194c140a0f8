/**
 * Jobs finished per minute (bars) and dispatch latency (line) over the last hour, as an
 * SVG with a data table behind it for screen readers.
 */
import type { Health } from "../../client/mod.ts";

const W = 600, H = 160, PAD = 24;

export function Chart({ timeline }: { timeline: Health["timeline"] }) {
  const now = Math.floor(Date.now() / 60_000);
  const byMinute = new Map(timeline.map((t) => [Math.floor(Date.parse(t.minute) / 60_000), t]));
  const minutes = Array.from({ length: 60 }, (_, i) => now - 59 + i);
  const maxJobs = Math.max(1, ...timeline.map((t) => t.finished));
  const maxLatency = Math.max(1, ...timeline.map((t) => t.dispatch_p50_ms ?? 0));
  const x = (i: number) => PAD + (i * (W - 2 * PAD)) / 60;
  const barW = (W - 2 * PAD) / 60 - 1;
  const points = minutes
    .map((m, i) => ({ i, t: byMinute.get(m) }))
    .filter(({ t }) => t?.dispatch_p50_ms != null)
    .map(({ i, t }) => ({
      cx: x(i) + barW / 2,
      cy: H - PAD - ((t!.dispatch_p50_ms as number) / maxLatency) * (H - 2 * PAD),
    }));
  const total = timeline.reduce((n, t) => n + t.finished, 0);
  return (
    <figure>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-caption">
        <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} stroke="#d0d7de" />
        {minutes.map((m, i) => {
          const t = byMinute.get(m);
          if (!t) return null;
          const h = (t.finished / maxJobs) * (H - 2 * PAD);
          return (
            <rect key={m} x={x(i)} y={H - PAD - h} width={barW} height={h} fill="#0b6bcb" opacity={0.6} />
          );
        })}
        {points.length > 1 && (
          <polyline
            points={points.map((p) => `${p.cx},${p.cy}`).join(" ")}
            fill="none"
            stroke="#cf222e"
            strokeWidth={2}
          />
        )}
        {points.map((p) => <circle key={p.cx} cx={p.cx} cy={p.cy} r={3} fill="#cf222e" />)}
        <text x={PAD} y={14} fontSize={11} fill="#57606a">{`jobs/min (max ${maxJobs})`}</text>
        <text x={W - PAD} y={14} fontSize={11} fill="#cf222e" textAnchor="end">
          {`dispatch p50 (max ${Math.round(maxLatency)} ms)`}
        </text>
        <text x={PAD} y={H - 6} fontSize={11} fill="#57606a">−60 min</text>
        <text x={W - PAD} y={H - 6} fontSize={11} fill="#57606a" textAnchor="end">now</text>
      </svg>
      <figcaption id="chart-caption">
        Last hour: {total}{" "}
        jobs finished; bars are jobs finished per minute, the line is the median time from enqueue to first
        claim.
      </figcaption>
      {/* Hidden in a div: a table grows to fit its cells whatever width it is given. */}
      <div className="visually-hidden">
        <table>
          <caption>Jobs finished and dispatch latency per minute</caption>
          <thead>
            <tr>
              <th>Minute (UTC)</th>
              <th>Finished</th>
              <th>Failed</th>
              <th>Dispatch p50 (ms)</th>
            </tr>
          </thead>
          <tbody>
            {timeline.map((t) => (
              <tr key={t.minute}>
                <td>{t.minute}</td>
                <td>{t.finished}</td>
                <td>{t.failed}</td>
                <td>{t.dispatch_p50_ms ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
