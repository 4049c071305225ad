import type { Generated } from 'kysely';
import type { DeployStatus, DeployTrigger } from '../contract.js';
import type { Slot } from '../slots.js';


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

export interface ReleasesTable {
  id: Generated<number>;
  app: string;
  /** Per-app release number (v1, v2, ...), as Heroku shows them. */
  version: number;
  deploy_id: number;
  sha: string;
  image: string;
  slot: Slot;
  /** The Procfile's process types as JSON ({} or null: the image's own command as web only). */
  processes: Generated<string | null>;
  created_at: string;
}

/** Explicit scale of a process type (`hiy ps:scale`); a type without a row runs one container. */
export interface FormationTable {
  app: string;
  process: string;
  quantity: number;
  updated_at: string;
}
