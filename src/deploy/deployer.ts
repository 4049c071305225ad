import type { DeployTrigger } from '../contract.js';

/** What the API and the git endpoint need from the deploy queue (implemented in service.ts). */
export interface Deployer {
  /** Queues a rebuild of the app's branch head (`hiy deploy`); returns the deploy id. */
  deployBranchHead(app: string, triggeredBy: DeployTrigger): Promise<number>;
  /** Restarts the current release through the same zero-downtime switch. */
  restart(app: string, triggeredBy?: DeployTrigger): Promise<number>;
  /** Releases the previous (or the named) release's image again, without building. */
  rollback(app: string, version?: number): Promise<{ deployId: number; targetVersion: number }>;
  /** Scales process types (`{web: 2, worker: 0}`) of the current release; returns the whole formation. */
  scale(app: string, changes: Record<string, number>): Promise<Record<string, number>>;
  /** Stops everything of an app before it is destroyed: waiting deploys, containers. */
  forgetApp(app: string): Promise<void>;
}
