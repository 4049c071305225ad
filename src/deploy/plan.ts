/**
 * A release plan: everything the processes of one release are started from, built once. A deploy
 * builds it in deploy() for the new release; scaling and start-up reconciliation build it for the
 * current one (release.ts rows carry its image, slot and deploy id).
 */
import type { Kysely } from 'kysely';
import type { App } from '../apps/repo.js';
import { parseCronColumn, type CronJob } from '../build/cron-jobs.js';
import type { Processes } from '../build/procfile.js';
import type { Database } from '../db/database.js';
import { appEnv } from '../addons/env.js';
import type { SecretBox } from '../env/secret-box.js';
import type { Slot } from '../slots.js';
import type { DeployOutput } from './output.js';
import { formationOf, parseProcesses } from './formation.js';
import type { Release } from './releases.js';

/** What a release runs: its image, the Procfile's process types and app.json's scheduled jobs. */
export interface ReleaseImage {
  image: string;
  processes: Processes;
  cron: CronJob[];
}

export interface ReleasePlan {
  app: App;
  release: ReleaseImage;
  /** The app's env vars and its add-ons' URLs, decrypted (plaintext only in memory and in the engine). */
  env: Record<string, string>;
  /** Which add-ons `env` holds (addons/managed.ts): its containers carry it. */
  managedEnv: string;
  /** The slot the release's web replicas run on (their fixed host ports). */
  slot: Slot;
  /** The deploy that made the release: its containers carry it, so they are known as its own. */
  deployId: number;
  /** How many containers of each process type run. */
  formation: Record<string, number>;
  /** What the pusher sees; absent outside a deploy (scaling, start-up reconciliation). */
  output?: DeployOutput | undefined;
  /** Aborts waits and one-off runs of a deploy. */
  signal?: AbortSignal | undefined;
}

/** The plan of the app's current release (scaling, reconciliation): nobody watches, nothing aborts it. */
export async function currentPlan(d: { db: Kysely<Database>; secrets: SecretBox }, app: App, release: Release): Promise<ReleasePlan> {
  const image: ReleaseImage = { image: release.image, processes: parseProcesses(release.processes), cron: parseCronColumn(release.cron) };
  const env = await appEnv(d.db, d.secrets, app.name);
  return {
    app,
    release: image,
    env: env.env,
    managedEnv: env.fingerprint,
    slot: release.slot,
    deployId: release.deploy_id,
    formation: await formationOf(d.db, app.name, image.processes),
  };
}
