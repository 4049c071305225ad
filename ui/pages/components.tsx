import type { Child } from 'hono/jsx';
import { downsample, relativeTime, sparkPoints } from '../format.js';

export function Badge({ status, id, label }: { status: string; id?: string; label?: string }) {
  return <span class={`badge b-${status.replace(/[^a-z]/g, '')}`} id={id}>{label ?? status}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  return <time datetime={iso} title={iso}>{relativeTime(iso)}</time>;
}

/** A commit as its first 7 digits; an image digest as sha256: and its first 12. */
export const shortSha = (sha: string): string => (sha.startsWith('sha256:') ? sha.slice(0, 19) : sha.slice(0, 7));

/** An inline SVG line of the last hour; `label` is what a screen reader hears instead. */
export function Sparkline({ values, label, max, wide, kind }: { values: number[]; label: string; max?: number; wide?: boolean; kind?: 'cpu' | 'mem' }) {
  if (values.length === 0) return <span class="muted small" title={label}>no data</span>;
  const h = wide ? 48 : 24;
  return (
    <svg class={`spark${wide ? ' wide' : ''}`} viewBox={`0 0 100 ${h}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <title>{label}</title>
      <polyline class={kind === 'mem' ? 'mem' : undefined} points={sparkPoints(downsample(values, wide ? 120 : 40), 100, h, max)} />
    </svg>
  );
}

export function Card({ title, children, class: cls }: { title?: string; children?: Child; class?: string }) {
  return (
    <section class={`card${cls ? ` ${cls}` : ''}`}>
      {title ? <h2>{title}</h2> : null}
      {children}
    </section>
  );
}
