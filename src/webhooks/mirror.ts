import type { Kysely } from 'kysely';
import type { App } from '../apps/repo.js';
import { validateBranch } from '../apps/input.js';
import type { Database } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import { FetchError, type FetchLimits } from '../git/fetch.js';
import type { Repos } from '../git/repos.js';
import type { Logger } from '../log.js';
import { getRepoToken } from './secrets.js';

const SHA_RE = /^[0-9a-f]{40}$/;
const short = (sha: string) => sha.slice(0, 7);
// What git says when a server will not send a commit that is not a ref tip (protocol v0 servers).
const REFUSED_SHA_RE = /not our ref|unadvertised object|couldn't find remote ref|no such remote ref/i;

export interface MirrorDeps {
  db: Kysely<Database>;
  secrets: SecretBox;
  repos: Repos;
  log: Logger;
  limits?: FetchLimits;
}

type Say = (line: string) => void;

/**
 * Brings commits from an app's repo_url into its bare repo (the one `git push hiy` uses) and
 * keeps `refs/heads/<branch>` there moving forward only. Fetches of one app run one at a time.
 *
 * Ordering: a webhook's fetch is the first step of its deploy job (`prepare`), so jobs fetch in
 * queue order, and the queue's newest-wins drops older waiting jobs. What is left (deliveries arriving out of order,
 * `hiy deploy` racing a push) is caught by one rule: a commit that is a strict ancestor of the
 * branch head already fetched is stale and is not deployed, unless GitHub says the push was forced.
 */
export class RepoMirror {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly d: MirrorDeps) {}

  /** Fetches exactly `sha` (or, when the server refuses that, the branch) and advances the branch to it. */
  async fetchPush(app: App, sha: string, opts: { forced: boolean; say?: Say; signal?: AbortSignal }): Promise<void> {
    if (!SHA_RE.test(sha)) throw new HiyError('invalid_input', 'a full commit sha is required');
    const branch = validateBranch(app.branch);
    const url = requireRepoUrl(app);
    await this.exclusive(app.name, async () => {
      const say = opts.say ?? (() => {});
      if (await this.d.repos.hasCommit(app.name, sha)) {
        say(`${short(sha)} is already in hiy's copy of the repository`);
      } else {
        say(`Fetching ${short(sha)} from ${url}`);
        const started = Date.now();
        const token = await getRepoToken(this.d.db, this.d.secrets, app.name);
        try {
          await this.d.repos.fetch(app.name, { url, refspecs: [sha], token, limits: this.d.limits, signal: opts.signal });
        } catch (err) {
          if (!(err instanceof FetchError) || err.killed || !REFUSED_SHA_RE.test(err.message)) throw err;
          // Servers without allowReachableSHA1InWant (protocol v0) refuse a sha; the branch has it.
          say(`The server refused to send a single commit; fetching branch ${branch}`);
          await this.d.repos.fetch(app.name, { url, refspecs: [`+refs/heads/${branch}:refs/hiy/upstream/${branch}`], token, limits: this.d.limits, signal: opts.signal });
        }
        if (!(await this.d.repos.hasCommit(app.name, sha))) throw new HiyError('deploy_failed', `commit ${sha} is not in ${url} (branch ${branch})`);
        say(`Fetched in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      const head = await this.d.repos.resolveBranch(app.name, branch);
      if (!opts.forced && head && head !== sha && (await this.d.repos.isAncestor(app.name, sha, head))) throw stale(sha, branch, head);
      await this.d.repos.setBranch(app.name, branch, sha, 'hiy: webhook push');
    });
  }

  /** `hiy deploy` of an app with a repo_url: the branch head on the remote becomes the local one. */
  async fetchBranchHead(app: App): Promise<string> {
    const branch = validateBranch(app.branch);
    const url = requireRepoUrl(app);
    return this.exclusive(app.name, async () => {
      const token = await getRepoToken(this.d.db, this.d.secrets, app.name);
      const upstream = `refs/hiy/upstream/${branch}`;
      await this.d.repos.fetch(app.name, { url, refspecs: [`+refs/heads/${branch}:${upstream}`], token, limits: this.d.limits });
      const sha = await this.d.repos.resolveRef(app.name, upstream);
      if (!sha) throw new HiyError('deploy_failed', `branch ${branch} of ${url} resolved to no commit`);
      await this.d.repos.setBranch(app.name, branch, sha, 'hiy: deploy fetched the branch head');
      return sha;
    });
  }

  /** Refuses a deploy of a commit that a newer fetched one has replaced since it was queued. */
  async assertCurrent(app: App, sha: string): Promise<void> {
    const branch = validateBranch(app.branch);
    const head = await this.d.repos.resolveBranch(app.name, branch);
    if (head && head !== sha && (await this.d.repos.isAncestor(app.name, sha, head))) throw stale(sha, branch, head);
  }

  /** True when `sha` is here and a strict ancestor of the branch head (checked before queueing). */
  async isStale(app: App, sha: string): Promise<string | undefined> {
    const head = await this.d.repos.resolveBranch(app.name, validateBranch(app.branch));
    if (!head || head === sha || !(await this.d.repos.hasCommit(app.name, sha))) return undefined;
    return (await this.d.repos.isAncestor(app.name, sha, head)) ? head : undefined;
  }

  private exclusive<T>(app: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(app) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    const tail = next.catch(() => {});
    this.chains.set(app, tail);
    void tail.then(() => { if (this.chains.get(app) === tail) this.chains.delete(app); });
    return next;
  }
}

function requireRepoUrl(app: App): string {
  if (!app.repo_url) throw new HiyError('conflict', `"${app.name}" has no repo_url to fetch from`);
  return app.repo_url;
}

function stale(sha: string, branch: string, head: string): HiyError {
  return new HiyError('conflict', `${short(sha)} is older than ${branch} at ${short(head)}, which hiy already has; not deployed`);
}
