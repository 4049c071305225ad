import type { Generated } from 'kysely';
import type { DeployStatus, DeployTrigger, Release } from '../contract.js';


export interface DeploysTable {
  id: Generated<number>;
  app: string;
  sha: string;
  status: DeployStatus;
  triggered_by: DeployTrigger;
  /** What the pusher saw (redacted). */
  log: Generated<string>;
  error: string | null;
  /** Release this deploy rolls back to, for rollbacks. */
  rollback_to: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The columns of a release (contract.ts), the id, processes and cron filled in by SQLite. */
export interface ReleasesTable extends Omit<Release, 'id' | 'processes' | 'cron'> {
  id: Generated<number>;
  processes: Generated<string | null>;
  cron: Generated<string | null>;
}

/** Explicit scale of a process type (`hiy ps:scale`); a type without a row runs one container. */
export interface FormationTable {
  app: string;
  process: string;
  quantity: number;
  updated_at: string;
}
