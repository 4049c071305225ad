/**
 * A release's scheduled jobs as hiy keeps them (the releases table's cron column). Parsing
 * app.json and schedules is app-json.ts's, which loads croner: this file does not, so reading a
 * release stays cheap for an idle hiy (decision 13).
 */
export type ConcurrencyPolicy = 'forbid' | 'replace';

export interface CronJob {
  /** Stable across deploys while command and schedule stay the same (what `hiy cron:run` names). */
  id: string;
  command: string;
  schedule: string;
  concurrency: ConcurrencyPolicy;
  /** In maintenance: listed, runnable by hand, not scheduled. */
  maintenance: boolean;
}

/** A release row's cron column; anything unreadable means no jobs. */
export function parseCronColumn(json: string | null | undefined): CronJob[] {
  if (!json) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((j): j is CronJob => typeof j === 'object' && j !== null && typeof (j as CronJob).id === 'string'
      && typeof (j as CronJob).command === 'string' && typeof (j as CronJob).schedule === 'string') : [];
  } catch {
    return [];
  }
}
