import type { Generated } from 'kysely';
import type { RunDetail } from '../contract.js';

/** One-off runs, console sessions and cron runs (contract.ts RunDetail), with who started them. */
export interface RunsTable extends Omit<RunDetail, 'id'> {
  id: Generated<number>;
  /** The API token that started it (its name is in `by`; the token may be gone since). */
  token_id: number | null;
}

/** When the scheduler last accounted for a job: what lies between this and a start was missed. */
export interface CronStateTable {
  app: string;
  job: string;
  checked_at: string;
}
