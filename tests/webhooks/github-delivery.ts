/**
 * Webhook deliveries built the way GitHub builds them: the same headers (X-GitHub-Event,
 * X-GitHub-Delivery, X-GitHub-Hook-ID, X-Hub-Signature sha1 + X-Hub-Signature-256 over the exact
 * bytes sent, User-Agent GitHub-Hookshot/…) and a push payload with the fields GitHub sends.
 */
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import type { FakeRepo } from './fake-github.js';

export const ZERO = '0'.repeat(40);

export interface PushOptions {
  repo: FakeRepo;
  ref: string;
  before: string;
  after: string;
  deleted?: boolean;
  forced?: boolean;
  created?: boolean;
  message?: string;
}

export function pushPayload(o: PushOptions): Record<string, unknown> {
  const [owner, name] = o.repo.fullName.split('/') as [string, string];
  const deleted = o.deleted ?? o.after === ZERO;
  const created = o.created ?? o.before === ZERO;
  const user = { name: 'octocat', email: 'octocat@github.com', username: 'octocat' };
  const commit = deleted ? null : {
    id: o.after, tree_id: 'f'.repeat(40), distinct: true, message: o.message ?? 'Update', timestamp: '2026-11-29T10:00:00+01:00',
    url: `${o.repo.htmlUrl}/commit/${o.after}`, author: user, committer: user, added: [], removed: [], modified: ['www/index.html'],
  };
  return {
    ref: o.ref,
    before: o.before,
    after: o.after,
    repository: {
      id: 123456789, node_id: 'R_kgDOHiy', name, full_name: o.repo.fullName, private: false,
      owner: { name: owner, login: owner, id: 1, type: 'User', html_url: `${o.repo.htmlUrl.replace(/\/[^/]+$/, '')}` },
      html_url: o.repo.htmlUrl, description: null, fork: false, url: o.repo.htmlUrl,
      // GitHub's pushed_at differs for every push, so no two pushes have the same body (hiy dedupes
      // replays by the signed body's digest).
      created_at: 1764406800, updated_at: '2026-11-29T09:00:00Z', pushed_at: 1764406800 + randomInt(1, 1e9),
      git_url: o.repo.cloneUrl.replace(/^https?:/, 'git:'), ssh_url: `git@github.com:${o.repo.fullName}.git`, clone_url: o.repo.cloneUrl,
      svn_url: o.repo.htmlUrl, default_branch: 'main', master_branch: 'main', visibility: 'public',
    },
    pusher: { name: 'octocat', email: 'octocat@github.com' },
    sender: { login: 'octocat', id: 1, type: 'User' },
    created,
    deleted,
    forced: o.forced ?? false,
    base_ref: null,
    compare: `${o.repo.htmlUrl}/compare/${o.before.slice(0, 12)}...${o.after.slice(0, 12)}`,
    commits: commit ? [commit] : [],
    head_commit: commit,
  };
}

export function pingPayload(repo: FakeRepo): Record<string, unknown> {
  return {
    zen: 'Keep it logically awesome.',
    hook_id: 42,
    hook: { type: 'Repository', id: 42, name: 'web', active: true, events: ['push'], config: { content_type: 'json', insecure_ssl: '0', url: 'https://hiy.example/hooks/github/x' } },
    repository: { full_name: repo.fullName, html_url: repo.htmlUrl, clone_url: repo.cloneUrl },
    sender: { login: 'octocat', id: 1 },
  };
}

/** The headers GitHub sends with `body` (the exact bytes), signed with `secret`. */
export function githubHeaders(secret: string, body: string | Buffer, event: string, delivery: string = randomUUID()): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/0b1d2e3',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-github-hook-id': '42',
    'x-github-hook-installation-target-id': '123456789',
    'x-github-hook-installation-target-type': 'repository',
    'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

export interface DeliveryAnswer {
  status: number;
  body: any;
  ms: number;
}

/** POSTs a delivery to hiy (GitHub serialises with JSON.stringify, no extra whitespace). */
export async function deliver(hookUrl: string, body: string | Buffer, headers: Record<string, string>): Promise<DeliveryAnswer> {
  const started = performance.now();
  const res = await fetch(hookUrl, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body), signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* keep the text */ }
  return { status: res.status, body: parsed, ms: performance.now() - started };
}
