/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function formatTable(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n') + '\n';
}

/** "key  value" lines with the keys aligned, for one object (info, create). */
export function formatPairs(pairs: [string, string | number | null | undefined][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined || v === '' ? '-' : String(v)}`).join('\n') + '\n';
}

/** "2026-11-29 09:59:04Z": sortable and short; the API keeps full ISO timestamps. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatDuration(startIso: string | null | undefined, endIso: string | null | undefined): string {
  if (!startIso || !endIso) return '-';
  const s = (Date.parse(endIso) - Date.parse(startIso)) / 1000;
  if (!Number.isFinite(s) || s < 0) return '-';
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** A commit as its first 7 digits; an image digest as sha256: and its first 12. */
export const shortSha = (sha: string | null | undefined): string => (!sha ? '-' : sha.startsWith('sha256:') ? sha.slice(0, 19) : sha.slice(0, 7));
