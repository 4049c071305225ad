import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decidePush } from './payload.js';

const app = { branch: 'main', repo_url: 'https://github.com/acme/site.git' };
const repository = { full_name: 'acme/site', html_url: 'https://github.com/acme/site', clone_url: 'https://github.com/acme/site.git' };
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const push = (over: Record<string, unknown> = {}) => ({ ref: 'refs/heads/main', before: A, after: B, repository, deleted: false, forced: false, created: false, ...over });

describe('what a push delivery does', { timeout: 10_000 }, () => {
  it('a push to the app\'s branch of its repository deploys exactly the after sha', () => {
    assert.deepEqual(decidePush(app, 'push', push()), { deploy: true, sha: B, ref: 'refs/heads/main', forced: false });
    assert.deepEqual(decidePush(app, 'push', push({ forced: true })), { deploy: true, sha: B, ref: 'refs/heads/main', forced: true });
    assert.equal(decidePush({ ...app, branch: 'release/2' }, 'push', push({ ref: 'refs/heads/release/2' })).deploy, true);
  });

  it('other events, branches, tags and deletions never deploy', () => {
    const cases: [string, unknown, RegExp, number][] = [
      ['issues', push(), /ignored: event issues/, 200],
      ['push', push({ ref: 'refs/heads/feature' }), /ignored: branch feature \(deploys main\)/, 200],
      ['push', push({ ref: 'refs/heads/main-2' }), /ignored: branch main-2/, 200],
      ['push', push({ ref: 'refs/tags/v1.0' }), /ignored: tag/, 200],
      ['push', push({ ref: 'refs/tags/main' }), /ignored: tag/, 200],
      ['push', push({ after: '0'.repeat(40), deleted: true }), /ignored: branch deleted/, 200],
      ['push', push({ after: '0'.repeat(40) }), /ignored: branch deleted/, 200],
      ['push', push({ deleted: true }), /ignored: branch deleted/, 200],
      ['push', push({ repository: { ...repository, full_name: 'evil/site', clone_url: 'https://github.com/evil/site.git', html_url: 'https://github.com/evil/site' } }), /rejected: repository "evil\/site" is not/, 403],
      ['push', push({ repository: undefined }), /rejected: repository/, 403],
      ['push', push({ after: 'HEAD~1' }), /rejected: after is not a commit sha/, 400],
      ['push', push({ after: `${B}\n` }), /rejected: after is not a commit sha/, 400],
      ['push', push({ ref: undefined }), /without ref or after/, 400],
      ['push', [push()], /not a JSON object/, 400],
      ['push', null, /not a JSON object/, 400],
    ];
    for (const [event, payload, outcome, status] of cases) {
      const d = decidePush(app, event, payload);
      assert.equal(d.deploy, false, JSON.stringify(payload));
      if (!d.deploy) {
        assert.match(d.outcome, outcome);
        assert.equal(d.status, status, d.outcome);
      }
    }
  });

  it('an app without a repo_url deploys nothing', () => {
    const d = decidePush({ branch: 'main', repo_url: null }, 'push', push());
    assert.equal(d.deploy, false);
  });
});
