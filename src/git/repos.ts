/** The apps' bare git repositories under <data>/repos/<app>.git. One real adapter: bare-repos.ts. */
export interface Repos {
  /** Absolute path of the app's bare repo. The name must already be validated. */
  path(app: string): string;
  /** Creates the bare repo (idempotent) and installs hiy's hooks into it. */
  create(app: string): Promise<void>;
  remove(app: string): Promise<void>;
  exists(app: string): Promise<boolean>;
  /** Commit sha of a branch head, or undefined when the branch does not exist. */
  resolveBranch(app: string, branch: string): Promise<string | undefined>;
  /** Streams `git archive --format=tar <sha>`. */
  archive(app: string, sha: string): import('node:stream').Readable;
}
