import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { UpstreamFetch } from './fetch.js';
import type { SmartHttpAction } from './smart-http.js';

/**
 * The apps' bare git repositories under <data>/repos/<app>.git, and every git process the server
 * runs on them. One real adapter: bare-repos.ts. App names must already be validated; commit
 * shas and refs given here are passed to git after `--end-of-options`.
 */
export interface Repos {
  /** Absolute path of the app's bare repo (node-git-server serves it; tests look inside). */
  path(app: string): string;
  /** Creates the bare repo (idempotent) and installs hiy's hooks into it. */
  create(app: string): Promise<void>;
  remove(app: string): Promise<void>;
  exists(app: string): Promise<boolean>;
  /** Commit sha of a branch head, or undefined when the branch does not exist. */
  resolveBranch(app: string, branch: string): Promise<string | undefined>;
  /** Commit sha a full ref name (`refs/hiy/upstream/main`) points at, or undefined. */
  resolveRef(app: string, ref: string): Promise<string | undefined>;
  /** Whether the commit is in the repo. */
  hasCommit(app: string, sha: string): Promise<boolean>;
  /** Whether `older` is an ancestor of `newer` (a commit is its own ancestor). */
  isAncestor(app: string, older: string, newer: string): Promise<boolean>;
  /** Points `refs/heads/<branch>` at `sha`, with `reason` in the reflog. */
  setBranch(app: string, branch: string, sha: string, reason: string): Promise<void>;
  /**
   * Answers one smart-HTTP request of a git client (clone, fetch, push) for the app's repo. The
   * caller has authenticated it and checked the app exists; `query` is the raw query string.
   */
  serveHttp(app: string, action: SmartHttpAction, query: string, req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Streams `git archive --format=tar <sha>`. */
  archive(app: string, sha: string): Readable;
  /** A hardened, bounded `git fetch` from an upstream URL (fetch.ts); rejects with FetchError. */
  fetch(app: string, req: UpstreamFetch): Promise<void>;
  /** Writes a bundle of every ref to `dest`; false when the repo is missing or has no refs yet. */
  bundle(app: string, dest: string): Promise<boolean>;
  /** Checks a bundle is complete (`git bundle verify`, in a scratch repo under the root) before anything is restored from it. */
  verifyBundle(bundle: string): Promise<void>;
  /** Makes the app's repo a bare repo holding every ref of the bundle (hooks come with create()). */
  restoreBundle(app: string, bundle: string): Promise<void>;
}
