import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { HiyError } from '../errors.js';
import { DAY, HOUR } from './sampler.js';

export type Range = '1h' | '24h';

export function parseRange(raw: string | undefined): Range {
  if (raw === undefined || raw === '' || raw === '1h') return '1h';
  if (raw === '24h') return '24h';
  throw new HiyError('invalid_input', 'range must be 1h or 24h');
}

/** 1h: the points as sampled; 24h: one-minute averages. */
const RANGES: Record<Range, { res: number; seconds: number }> = { '1h': { res: 0, seconds: HOUR }, '24h': { res: 60, seconds: DAY } };

/** Columns of equal length, oldest first: what a sparkline takes. `t` is unix seconds. */
export interface AppSeries {
  t: number[];
  cpu_pct: number[];
  memory_bytes: number[];
}

export interface HostSeries {
  t: number[];
  cpu_pct: number[];
  memory_pct: number[];
  disk_pct: number[];
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

export async function appSeries(db: Kysely<Database>, app: string, range: Range, now = Date.now()): Promise<AppSeries> {
  const { res, seconds } = RANGES[range];
  const rows = await db.selectFrom('app_metrics').select(['t', 'cpu_pct', 'memory_bytes'])
    .where('app', '=', app).where('res', '=', res).where('t', '>=', Math.floor(now / 1000) - seconds).orderBy('t').execute();
  return { t: rows.map((r) => r.t), cpu_pct: rows.map((r) => round1(r.cpu_pct)), memory_bytes: rows.map((r) => r.memory_bytes) };
}

export async function addonSeries(db: Kysely<Database>, addon: string, range: Range, now = Date.now()): Promise<AppSeries> {
  const { res, seconds } = RANGES[range];
  const rows = await db.selectFrom('addon_metrics').select(['t', 'cpu_pct', 'memory_bytes'])
    .where('addon', '=', addon).where('res', '=', res).where('t', '>=', Math.floor(now / 1000) - seconds).orderBy('t').execute();
  return { t: rows.map((r) => r.t), cpu_pct: rows.map((r) => round1(r.cpu_pct)), memory_bytes: rows.map((r) => r.memory_bytes) };
}

export async function hostSeries(db: Kysely<Database>, range: Range, now = Date.now()): Promise<HostSeries> {
  const { res, seconds } = RANGES[range];
  const rows = await db.selectFrom('host_metrics').selectAll()
    .where('res', '=', res).where('t', '>=', Math.floor(now / 1000) - seconds).orderBy('t').execute();
  const pct = (a: number, b: number) => (b > 0 ? round1((100 * a) / b) : 0);
  return {
    t: rows.map((r) => r.t),
    cpu_pct: rows.map((r) => round1(r.cpu_pct)),
    memory_pct: rows.map((r) => pct(r.memory_used, r.memory_total)),
    disk_pct: rows.map((r) => pct(r.disk_used, r.disk_total)),
  };
}

/** Seconds between two points of a range. */
export const intervalOf = (range: Range, sampleSec: number): number => (range === '1h' ? sampleSec : 60);
