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
  /** An image deploy's reference (contract.ts DeploySummary); null for builds. */
  image_ref: Generated<string | null>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The columns of a release (contract.ts), the id, processes, image_ref and cron filled in by SQLite. */
export interface ReleasesTable extends Omit<Release, 'id' | 'processes' | 'image_ref' | 'cron'> {
  id: Generated<number>;
  processes: Generated<string | null>;
  image_ref: Generated<string | null>;
  cron: Generated<string | null>;
}

/** Explicit scale of a process type (`hiy ps:scale`); a type without a row runs one container. */
export interface FormationTable {
  app: string;
  process: string;
  quantity: number;
  /** 1 after hiy ps:stop: no container runs until ps:start (quantity is what then starts). */
  stopped: Generated<number>;
  updated_at: string;
}
