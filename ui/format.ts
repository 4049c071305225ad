/** Small formatting helpers shared by the dashboard's pages. Pure functions, unit-tested. */

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; the exact time goes into a title attribute. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < -5) return `in ${span(-s)}`; // a certificate's expiry, a scheduled renewal
  if (s < 5) return 'just now';
  return `${span(s)} ago`;
}

function span(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

export function duration(startIso: string | null, endIso: string | null, now = Date.now()): string {
  if (!startIso) return '—';
  const ms = (endIso ? Date.parse(endIso) : now) - Date.parse(startIso);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function percent(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} %`;
}

/** A CSS width class (w0 … w100 in steps of 5) for a percentage bar: no inline styles under the CSP. */
export function widthClass(pct: number): string {
  const clamped = Math.max(0, Math.min(100, Number.isFinite(pct) ? pct : 0));
  return `w${Math.round(clamped / 5) * 5}`;
}

export function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}

/**
 * Points of an SVG polyline drawing `values` in a w×h box (y grows downwards). `max` fixes the
 * scale (100 for CPU %); otherwise the largest value fills the height. Non-finite values are skipped.
 */
export function sparkPoints(values: readonly number[], w = 100, h = 24, max?: number): string {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length === 0) return '';
  const top = max ?? Math.max(...vs);
  const scale = top > 0 ? (h - 2) / top : 0;
  // One decimal at most, and none when it is 0: the apps page carries 30 of these lines.
  const num = (n: number) => String(Math.round(n * 10) / 10);
  const y = (v: number) => num(h - 1 - Math.min(top, Math.max(0, v)) * scale);
  if (vs.length === 1) return `0,${y(vs[0]!)} ${w},${y(vs[0]!)}`;
  const step = w / (vs.length - 1);
  return vs.map((v, i) => `${num(i * step)},${y(v)}`).join(' ');
}

/**
 * At most `max` points, each the mean of an equal share of `values` (a 100 px sparkline has no
 * use for an hour of 10 s samples, and 360 points per line would weigh ~3.5 KB of HTML each).
 */
export function downsample(values: readonly number[], max: number): number[] {
  if (values.length <= max) return [...values];
  const out: number[] = [];
  for (let i = 0; i < max; i++) {
    const from = Math.floor((i * values.length) / max);
    const to = Math.floor(((i + 1) * values.length) / max);
    let sum = 0;
    for (let j = from; j < to; j++) sum += values[j]!;
    out.push(sum / (to - from));
  }
  return out;
}
