import { api } from '../api';
import { formatMs, formatPercent } from '../format';
import type { WebhookStats } from '../types';
import { useLoad } from '../useApi';
import { ErrorBanner, Loading } from './Feedback';

const WIDTH = 720;
const LEFT = 44;
const RIGHT = 12;
const BARS_TOP = 8;
const BARS_HEIGHT = 96;
const LINE_TOP = 132;
const LINE_HEIGHT = 44;
const AXIS_Y = 196;
const HEIGHT = 204;
const PLOT = WIDTH - LEFT - RIGHT;
const SLOT = PLOT / 24;

function hourLabel(ms: number): string {
  return `${String(new Date(ms).getHours()).padStart(2, '0')}:00`;
}

/** A round-ish axis maximum so the gridline label reads well. */
function niceMax(value: number): number {
  if (value <= 4) return Math.max(1, value);
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return value;
}

interface Bucket {
  start: number;
  succeeded: number;
  failed: number;
  p95: number | null;
}

function bucketTitle(b: Bucket): string {
  const parts = [
    `${hourLabel(b.start)}–${hourLabel(b.start + 3_600_000)}`,
    `${b.succeeded} succeeded`,
    `${b.failed} failed`,
  ];
  if (b.p95 !== null) parts.push(`p95 ${formatMs(b.p95)}`);
  return parts.join(', ');
}

/**
 * Event deliveries of one webhook over the last 24 hours (GET /webhooks/{id}/stats), by outcome,
 * with the p95 response time; test sends and probes are not counted.
 */
export function DeliveryChart({ webhookId, refreshKey = 0 }: { webhookId: string; refreshKey?: number }) {
  const loaded = useLoad(`${webhookId}:${refreshKey}`, (signal) =>
    api.get<WebhookStats>(`/webhooks/${encodeURIComponent(webhookId)}/stats?window=24h`, signal),
  );
  if (loaded.error) return <ErrorBanner error={loaded.error} />;
  if (!loaded.data) return <Loading label="Loading the last 24 hours…" />;

  const stats = loaded.data;
  const summary = {
    total: stats.deliveries,
    succeeded: stats.succeeded,
    failed: stats.failed,
    pending: stats.pending,
    p95: stats.p95_ms,
    buckets: stats.buckets.map((b) => ({
      start: Date.parse(b.start),
      succeeded: b.succeeded,
      failed: b.failed,
      p95: b.p95_ms,
    })),
  };
  const maxCount = niceMax(Math.max(...summary.buckets.map((b) => b.succeeded + b.failed), 0));
  const maxP95 = niceMax(Math.max(...summary.buckets.map((b) => b.p95 ?? 0), 0));
  const y = (count: number) => (count / maxCount) * BARS_HEIGHT;
  const lineY = (ms: number) => LINE_TOP + LINE_HEIGHT - (ms / maxP95) * LINE_HEIGHT;
  const points = summary.buckets
    .map((b, i) => (b.p95 === null ? null : `${LEFT + SLOT * i + SLOT / 2},${lineY(b.p95)}`))
    .filter((p): p is string => p !== null);

  const description = `Last 24 hours: ${summary.total} deliveries, ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.pending} pending; success rate ${formatPercent(stats.success_rate)}; p95 response time ${formatMs(summary.p95)}.`;

  return (
    <figure className="chart" data-testid="delivery-chart">
      <figcaption className="chart-summary">
        <span>
          <strong>{summary.total}</strong> deliveries
        </span>
        <span className="legend legend-ok">{summary.succeeded} succeeded</span>
        <span className="legend legend-bad">{summary.failed} failed</span>
        <span className="legend legend-warn">{summary.pending} pending</span>
        <span data-testid="success-rate">{formatPercent(stats.success_rate)} success</span>
        <span className="legend legend-line">p95 {formatMs(summary.p95)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={description} className="chart-svg">
        <g className="chart-grid">
          <line x1={LEFT} x2={WIDTH - RIGHT} y1={BARS_TOP} y2={BARS_TOP} />
          <line x1={LEFT} x2={WIDTH - RIGHT} y1={BARS_TOP + BARS_HEIGHT} y2={BARS_TOP + BARS_HEIGHT} />
          <line x1={LEFT} x2={WIDTH - RIGHT} y1={LINE_TOP} y2={LINE_TOP} />
          <line x1={LEFT} x2={WIDTH - RIGHT} y1={LINE_TOP + LINE_HEIGHT} y2={LINE_TOP + LINE_HEIGHT} />
        </g>
        <g className="chart-axis-label">
          <text x={LEFT - 6} y={BARS_TOP + 4} textAnchor="end">
            {maxCount}
          </text>
          <text x={LEFT - 6} y={BARS_TOP + BARS_HEIGHT + 4} textAnchor="end">
            0
          </text>
          <text x={LEFT - 6} y={LINE_TOP + 4} textAnchor="end">
            {formatMs(maxP95).replace(' ', '')}
          </text>
          <text x={LEFT} y={LINE_TOP - 8}>
            p95 response time
          </text>
        </g>
        {summary.buckets.map((b, i) => {
          const x = LEFT + SLOT * i + 2;
          const w = SLOT - 4;
          let top = BARS_TOP + BARS_HEIGHT;
          const parts = (['succeeded', 'failed'] as const).map((key) => {
            const h = y(b[key]);
            top -= h;
            return h > 0 ? (
              <rect key={key} className={`bar bar-${key}`} x={x} y={top} width={w} height={h} rx={1.5} />
            ) : null;
          });
          return (
            <g key={b.start}>
              <title>{bucketTitle(b)}</title>
              <rect
                className="bar-hit"
                x={LEFT + SLOT * i}
                y={BARS_TOP}
                width={SLOT}
                height={LINE_TOP + LINE_HEIGHT - BARS_TOP}
              />
              {parts}
            </g>
          );
        })}
        {points.length > 1 ? <polyline className="p95-line" points={points.join(' ')} /> : null}
        {points.map((p) => {
          const [cx, cy] = p.split(',');
          return <circle key={p} className="p95-dot" cx={cx} cy={cy} r={2.5} />;
        })}
        <g className="chart-axis-label">
          {summary.buckets.map((b, i) =>
            i % 6 === 0 || i === 23 ? (
              <text key={b.start} x={LEFT + SLOT * i + SLOT / 2} y={AXIS_Y} textAnchor="middle">
                {i === 23 ? 'now' : hourLabel(b.start)}
              </text>
            ) : null,
          )}
        </g>
      </svg>
    </figure>
  );
}
