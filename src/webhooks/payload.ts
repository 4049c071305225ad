// What a signed GitHub delivery asks of hiy, decided from the event name and the parsed payload
// alone (no I/O), so every rule is unit-tested.

import { sameRepository } from '../git/repo-url.js';

export type PushDecision =
  | { deploy: true; sha: string; ref: string; forced: boolean }
  | { deploy: false; status: number; outcome: string; ref?: string | undefined; sha?: string | undefined };

const SHA_RE = /^[0-9a-f]{40}$/;
const ZERO_SHA = /^0{40}$/;

export interface AppForPush {
  branch: string;
  repo_url: string | null;
}

/** `push` events only; everything else is answered and recorded, never deployed. */
export function decidePush(app: AppForPush, event: string, payload: unknown): PushDecision {
  if (event !== 'push') return { deploy: false, status: 200, outcome: `ignored: event ${event.slice(0, 50)}` };
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { deploy: false, status: 400, outcome: 'rejected: payload is not a JSON object' };
  const p = payload as Record<string, unknown>;
  const ref = typeof p.ref === 'string' ? p.ref.slice(0, 255) : undefined;
  const after = typeof p.after === 'string' ? p.after : undefined;
  const sha = after && SHA_RE.test(after) ? after : undefined;
  const seen = { ref, sha };
  if (!ref || !after) return { deploy: false, status: 400, outcome: 'rejected: push payload without ref or after', ...seen };
  if (!app.repo_url) return { deploy: false, status: 409, outcome: 'rejected: the app has no repo_url', ...seen };
  if (!sameRepository(app.repo_url, p.repository)) {
    return { deploy: false, status: 403, outcome: `rejected: repository ${repoName(p.repository)} is not ${app.repo_url}`, ...seen };
  }
  if (ref.startsWith('refs/tags/')) return { deploy: false, status: 200, outcome: 'ignored: tag', ...seen };
  if (ref !== `refs/heads/${app.branch}`) return { deploy: false, status: 200, outcome: `ignored: branch ${ref.replace(/^refs\/heads\//, '')} (deploys ${app.branch})`, ...seen };
  if (p.deleted === true || ZERO_SHA.test(after)) return { deploy: false, status: 200, outcome: 'ignored: branch deleted', ...seen };
  if (!sha) return { deploy: false, status: 400, outcome: 'rejected: after is not a commit sha', ...seen };
  return { deploy: true, sha, ref, forced: p.forced === true };
}

function repoName(repository: unknown): string {
  const r = (typeof repository === 'object' && repository !== null ? repository : {}) as Record<string, unknown>;
  const name = typeof r.full_name === 'string' ? r.full_name : typeof r.clone_url === 'string' ? r.clone_url : '(none)';
  return JSON.stringify(name.slice(0, 200));
}
