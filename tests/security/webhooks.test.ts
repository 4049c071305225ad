/**
 * Forged and replayed GitHub deliveries. Only a delivery signed with the app's own secret over the
 * exact bytes may queue a deploy, and only once: a redelivery with the same id, and the same signed
 * body sent again under a new X-GitHub-Delivery id (the id is not covered by the signature), are
 * duplicates. Refused deliveries queue nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { freePort } from '../../harness/ports.js';
import { deliver, githubHeaders, pushPayload } from '../webhooks/github-delivery.js';
import type { FakeRepo } from '../webhooks/fake-github.js';
import { rawGet } from './support.js';

const APP = `sec-wh-${randomBytes(3).toString('hex')}`;
const OTHER = `${APP}-b`;

describe('webhook signatures and replays', { timeout: 180_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let secret: string;
  let otherSecret: string;
  let repo: FakeRepo;
  let hook: string;
  const deploys = async () => (await api('GET', `/apps/${APP}/deploys`)).body.deploys.length as number;

  before(async () => {
    hiy = await startHiy();
    api = apiClient(hiy);
    // Nothing listens there: a queued deploy fails at its fetch, which is all these tests need.
    const port = await freePort();
    repo = { fullName: 'me/app', bareDir: '', cloneUrl: `http://127.0.0.1:${port}/me/app.git`, htmlUrl: `http://127.0.0.1:${port}/me/app` };
    for (const name of [APP, OTHER]) assert.equal((await api('POST', '/apps', { name, repo_url: repo.cloneUrl })).status, 201);
    secret = (await api('POST', `/apps/${APP}/webhook`, {})).body.webhook.secret;
    otherSecret = (await api('POST', `/apps/${OTHER}/webhook`, {})).body.webhook.secret;
    hook = `${hiy.url}/hooks/github/${APP}`;
  });

  after(async () => { await hiy?.stop(); });

  const body = (after = randomBytes(20).toString('hex')) => JSON.stringify(pushPayload({ repo, ref: 'refs/heads/main', before: 'a'.repeat(40), after, forced: true }));

  test('unsigned, forged, wrongly keyed and tampered deliveries get 401 and queue nothing', async () => {
    const b = body();
    const good = githubHeaders(secret, b, 'push');
    const without = (h: Record<string, string>, k: string) => Object.fromEntries(Object.entries(h).filter(([key]) => key !== k));
    const cases: [string, Record<string, string>, string][] = [
      ['no signature', without(without(good, 'x-hub-signature-256'), 'x-hub-signature'), b],
      ['sha1 signature only', without(good, 'x-hub-signature-256'), b],
      ['signed with another app\'s secret', githubHeaders(otherSecret, b, 'push'), b],
      ['signed with the API token', githubHeaders(hiy.token, b, 'push'), b],
      ['uppercase hex', { ...good, 'x-hub-signature-256': good['x-hub-signature-256']!.toUpperCase() }, b],
      ['truncated', { ...good, 'x-hub-signature-256': good['x-hub-signature-256']!.slice(0, 40) }, b],
      ['body changed after signing', good, b.replace('"forced":true', '"forced":false')],
      ['whitespace added after signing', good, `${b} `],
      ['empty signature', { ...good, 'x-hub-signature-256': '' }, b],
    ];
    for (const [name, headers, payload] of cases) {
      const res = await deliver(hook, payload, headers);
      assert.equal(res.status, 401, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'unauthorized', name);
      assert.match(res.body.error.message, /signature/i, name);
    }
    assert.equal(await deploys(), 0);
  });

  test('a delivery is acted on once: same id, and the same signed body under a new id, are duplicates', async () => {
    const b = body();
    const id = randomUUID();
    const first = await deliver(hook, b, githubHeaders(secret, b, 'push', id));
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(await deploys(), 1);
    const again = await deliver(hook, b, githubHeaders(secret, b, 'push', id));
    assert.equal(again.status, 200);
    assert.equal(again.body.outcome, 'duplicate');
    const replay = await deliver(hook, b, githubHeaders(secret, b, 'push', randomUUID()));
    assert.equal(replay.body.outcome, 'duplicate', `a replay under a new delivery id: ${replay.status} ${JSON.stringify(replay.body)}`);
    assert.equal(await deploys(), 1, 'the replay queued no deploy');
    // A different push (a new body, as every real push has) is still accepted: the dedupe is not a lock-out.
    const next = body();
    assert.equal((await deliver(hook, next, githubHeaders(secret, next, 'push'))).status, 202);
  });

  test('unknown apps, apps without a webhook and odd paths look alike (404) and record nothing', async () => {
    const b = body();
    for (const path of [`/hooks/github/nope-${APP}`, '/hooks/github/', `/hooks/github/${APP.toUpperCase()}`, `/hooks/github/${APP}/../${OTHER}x`]) {
      const res = await fetch(`${hiy.url}${path}`, { method: 'POST', headers: githubHeaders(secret, b, 'push'), body: b });
      assert.equal(res.status, 404, path);
    }
    const raw = await rawGet(hiy.url, `/hooks/github/../../api/v1/apps`);
    assert.ok(raw.status === 404 || raw.status === 405, `raw traversal → ${raw.status}`);
  });

  test('a body over 25 MB is refused with 413 before it is hashed', async () => {
    const big = Buffer.alloc(26 * 1024 * 1024, 0x20);
    const headers = { ...githubHeaders(secret, '{}', 'push'), 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(big).digest('hex')}` };
    const res = await deliver(hook, big, headers);
    assert.equal(res.status, 413);
    assert.deepEqual(res.body.error.code, 'payload_too_large');
    assert.match(res.body.error.message, /larger than/);
  });
});
