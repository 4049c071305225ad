import { trustedProxies } from '../../src/trusted-proxies.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { insertApp } from '../../src/apps/repo.js';
import { openDatabase, type OpenedDb } from '../../src/db/open.js';
import { DeployOutput } from '../../src/deploy/output.js';
import type { QueuedDeploy } from '../../src/deploy/queue.js';
import { openSecretBox, type SecretBox } from '../../src/env/secret-box.js';
import { createBareRepos } from '../../src/git/bare-repos.js';
import { createLogger } from '../../src/log.js';
import { listDeliveries } from '../../src/webhooks/deliveries.js';
import { createWebhookHandler, MAX_BODY_BYTES } from '../../src/webhooks/endpoint.js';
import { RepoMirror } from '../../src/webhooks/mirror.js';
import { setWebhookSecret } from '../../src/webhooks/secrets.js';
import { verifySignature } from '../../src/webhooks/signature.js';
import { repoRoot } from '../../harness/paths.js';
import { deliver, githubHeaders, pushPayload } from './github-delivery.js';

// The endpoint alone (real database, real signature code, the queue replaced by a recorder): the
// checks that come before any deploy.

const SECRET = 'endpoint-test-secret';
const repo = { fullName: 'acme/site', bareDir: '', cloneUrl: 'https://github.com/acme/site.git', htmlUrl: 'https://github.com/acme/site' };

describe('POST /hooks/github/<app> before anything is queued', { timeout: 60_000 }, () => {
  let dir: string;
  let opened: OpenedDb;
  let box: SecretBox;
  let server: Server;
  let base: string;
  let hashed = 0;
  const queued: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hiy-endpoint-test-'));
    opened = await openDatabase(join(dir, 'hiy.db'));
    box = await openSecretBox(join(dir, 'secrets'));
    const repos = createBareRepos(join(dir, 'repos'), { hookScript: join(repoRoot(), 'hooks', 'pre-receive'), endpoint: 'http://127.0.0.1:9', tokenFile: join(dir, 'none') });
    for (const name of ['site', 'nosecret']) {
      await insertApp(opened.db, { name, repo_url: repo.cloneUrl });
      await repos.create(name);
    }
    await setWebhookSecret(opened.db, box, 'site', SECRET);
    const handler = createWebhookHandler({
      db: opened.db, secrets: box, log: createLogger('silent'),
      mirror: new RepoMirror({ db: opened.db, secrets: box, repos, log: createLogger('silent') }),
      repos,
      verify: (...a) => { hashed++; return verifySignature(...a); },
      trusted: trustedProxies([]),
      async enqueueBuild(app, sha): Promise<QueuedDeploy> {
        queued.push(`${app}@${sha}`);
        const deployId = queued.length;
        return { deployId, app, output: new DeployOutput(opened.db, deployId), answer: new Promise(() => {}), done: new Promise(() => {}) };
      },
      async enqueuePull(app, reference): Promise<QueuedDeploy> {
        queued.push(`${app}@${reference}`);
        const deployId = queued.length;
        return { deployId, app, output: new DeployOutput(opened.db, deployId), answer: new Promise(() => {}), done: new Promise(() => {}) };
      },
    });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const body = JSON.stringify(pushPayload({ repo, ref: 'refs/heads/main', before: 'a'.repeat(40), after: 'b'.repeat(40) }));

  test('an unknown app and an app without a webhook secret get the same bare 404', async () => {
    const a = await deliver(`${base}/hooks/github/nope`, body, githubHeaders(SECRET, body, 'push'));
    const b = await deliver(`${base}/hooks/github/nosecret`, body, githubHeaders(SECRET, body, 'push'));
    const c = await deliver(`${base}/hooks/github/..%2Fsite`, body, githubHeaders(SECRET, body, 'push'));
    assert.deepEqual([a.status, b.status, c.status], [404, 404, 404]);
    assert.deepEqual(a.body, b.body);
    // The API's error shape, as every error hiy sends.
    assert.deepEqual(a.body, { error: { code: 'not_found', message: 'not found' } });
    assert.equal(hashed, 0);
    assert.equal((await listDeliveries(opened.db, 'nosecret')).length, 0);
  });

  test('a body declared larger than 25 MB is refused with 413 before it is read or hashed', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/hooks/github/site`, { method: 'POST', headers: { ...githubHeaders(SECRET, body, 'push'), 'content-length': String(MAX_BODY_BYTES + 1) } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.write('{');
    });
    assert.equal(status, 413);
    assert.equal(hashed, 0);
  });

  test('a chunked body that grows past 25 MB is cut off with 413 before hashing', async () => {
    const big = new PassThrough();
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(`${base}/hooks/github/site`, { method: 'POST', headers: githubHeaders(SECRET, body, 'push') }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      big.pipe(req);
    });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    // Keep writing until the server answers (it must, at 25 MB); stop at 40 MB regardless.
    let answered = false;
    void answer.then(() => { answered = true; });
    while (!answered && sent < 40 * 1024 * 1024) {
      if (!big.write(chunk)) await new Promise((r) => setTimeout(r, 5));
      sent += chunk.length;
      await new Promise((r) => setImmediate(r));
    }
    big.end();
    assert.equal(await answer, 413);
    assert.ok(sent > MAX_BODY_BYTES, `the server read ${sent} bytes before answering`);
    assert.equal(hashed, 0, 'nothing was hashed');
    assert.deepEqual(queued, []);
  });

  test('the same delivery arriving twice at once deploys once', async () => {
    const headers = githubHeaders(SECRET, body, 'push');
    const answers = await Promise.all([1, 2, 3].map(() => deliver(`${base}/hooks/github/site`, body, headers)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 202]);
    assert.deepEqual(queued, [`site@${'b'.repeat(40)}`]);
    const outcomes = (await listDeliveries(opened.db, 'site')).map((d) => d.outcome).sort();
    assert.deepEqual(outcomes, ['deployed #1', 'duplicate', 'duplicate']);
  });

  test('a forged request cannot reserve a delivery id before GitHub\'s real one', async () => {
    const good = JSON.stringify(pushPayload({ repo, ref: 'refs/heads/main', before: 'b'.repeat(40), after: 'c'.repeat(40) }));
    const headers = githubHeaders(SECRET, good, 'push');
    const forged = await deliver(`${base}/hooks/github/site`, good, { ...headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` });
    assert.equal(forged.status, 401);
    const real = await deliver(`${base}/hooks/github/site`, good, headers);
    assert.equal(real.status, 202, JSON.stringify(real.body));
    assert.equal(queued.at(-1), `site@${'c'.repeat(40)}`);
  });
});
