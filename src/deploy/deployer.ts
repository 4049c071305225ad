import type { DeployTrigger } from './table.js';

/** What the API and the git endpoint need from the deploy queue (implemented in service.ts). */
export interface Deployer {
  /** Queues a rebuild of the app's branch head (`hiy deploy`); returns the deploy id. */
  deployBranchHead(app: string, triggeredBy: DeployTrigger): Promise<number>;
  /** Restarts the current release through the same zero-downtime switch. */
  restart(app: string, triggeredBy?: DeployTrigger): Promise<number>;
  /** Releases the previous (or the named) release's image again, without building. */
  rollback(app: string, version?: number): Promise<{ deployId: number; targetVersion: number }>;
  /** Stops everything of an app before it is destroyed: waiting deploys, containers. */
  forgetApp(app: string): Promise<void>;
}
