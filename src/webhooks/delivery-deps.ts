/** What the hook endpoints need to act on a delivery (GitHub's and the registry notification). */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DeployTrigger } from '../contract.js';
import type { Database } from '../db/database.js';
import type { Prepare } from '../deploy/pipeline.js';
import type { QueuedDeploy } from '../deploy/queue.js';
import type { SecretBox } from '../env/secret-box.js';
import type { Repos } from '../git/repos.js';
import type { Logger } from '../log.js';
import type { RepoMirror } from './mirror.js';
import type { verifySignature } from './signature.js';

export interface DeliveryDeps {
  db: Kysely<Database>;
  secrets: SecretBox;
  log: Logger;
  mirror: RepoMirror;
  /** The app's bare repo, where the build's source is read once the commit was fetched. */
  repos: Pick<Repos, 'archive'>;
  enqueueBuild(app: string, sha: string, trigger: DeployTrigger, source: () => Readable, opts?: { prepare?: Prepare }): Promise<QueuedDeploy>;
  /** Image deploys (apps whose source is an image): a pull of a checked reference. */
  enqueuePull(app: string, reference: string, trigger: DeployTrigger): Promise<QueuedDeploy>;
  /** Injected by tests to prove what is (not) hashed. */
  verify?: typeof verifySignature;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

