import type { Generated } from 'kysely';
import type { RunKind, RunMode, RunStatus } from '../contract.js';

/** One-off runs, console sessions and cron runs (contract.ts RunView), with the output tail of detached ones. */
export interface RunsTable {
  id: Generated<number>;
  app: string;
  kind: RunKind;
  process: string;
  job: string | null;
  command: string;
  by: string;
  /** The API token that started it (its name is in `by`; the token may be gone since). */
  token_id: number | null;
  mode: RunMode;
  release: number | null;
  container: string | null;
  scheduled_at: string | null;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  exit_code: number | null;
  reason: string | null;
  /** The last RUN_OUTPUT_TAIL bytes of a detached or cron run's output, redacted. */
  output: string | null;
}

/** When the scheduler last accounted for a job: what lies between this and a start was missed. */
export interface CronStateTable {
  app: string;
  job: string;
  checked_at: string;
}
