import type { Readable } from 'node:stream';
import type { DeployTrigger } from '../contract.js';
import type { StopResult } from './stops.js';

/** What the API and the git endpoint need from the deploy queue (implemented in service.ts). */
export interface Deployer {
  /**
   * Queues a deploy of what the app follows (`hiy deploy`): a build of its branch head, or for an
   * app whose source is an image, a pull of its image tag; returns the deploy id.
   */
  deployBranchHead(app: string, triggeredBy: DeployTrigger): Promise<number>;
  /** Queues a pull of an image reference (tag or digest) released like a build (`hiy deploy --image`). */
  deployImage(app: string, reference: string, triggeredBy: DeployTrigger): Promise<number>;
  /**
   * Loads a `docker save` archive as it streams in (checked: one image, this box's platform), then
   * queues its release; returns the deploy id. A refused upload is a failed deploy with its log.
   */
  loadImage(app: string, archive: Readable, triggeredBy: DeployTrigger, signal: AbortSignal): Promise<number>;
  /** Restarts the current release through the same zero-downtime switch. */
  restart(app: string, triggeredBy?: DeployTrigger): Promise<number>;
  /** Releases the previous (or the named) release's image again, without building. */
  rollback(app: string, version?: number): Promise<{ deployId: number; targetVersion: number }>;
  /** Scales process types (`{web: 2, worker: 0}`) of the current release; returns the whole formation. */
  scale(app: string, changes: Record<string, number>): Promise<Record<string, number>>;
  /** Like scale, but while a deploy runs it answers `{behind: <its id>}` at once and scales after it. */
  scaleSoon(app: string, changes: Record<string, number>): Promise<{ formation: Record<string, number> } | { behind: { id: number; app: string } }>;
  /** `hiy ps:stop`: the type (every type when undefined) runs nothing until ps:start or a deploy (stops.ts). */
  stopProcesses(app: string, type?: string): Promise<StopResult>;
  /** `hiy ps:start`: stopped types run again from the current release. */
  startProcesses(app: string, type?: string): Promise<StopResult>;
  /** Stops everything of an app before it is destroyed: waiting deploys, containers. */
  forgetApp(app: string): Promise<void>;
}
