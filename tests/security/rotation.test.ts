/**
 * Rotating HIY_ADMIN_TOKEN revokes the old value (docs/security.md, "Credentials";
 * docs/operations.md, "Rotating the admin token"). A real server is started with token A, then
 * restarted on the same data dir with token B: A no longer opens the API nor the git remote, B
 * does, a token made through the API survives, and the listing shows A revoked. Setting a
 * revoked value again brings nothing back and locks nobody out.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run } from '../../harness/git.js';

const APP = `sec-rot-${randomBytes(3).toString('hex')}`;
const newValue = () => `hiy_${randomBytes(32).toString('base64url')}`;

describe('rotating HIY_ADMIN_TOKEN revokes the previous value', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hiy-test-rot-'));
  let hiy: HiyProcess | undefined;
  after(async () => {
    await hiy?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (token: string) => {
    hiy = await startHiy({ dataDir, keepDataDir: true, env: { HIY_ADMIN_TOKEN: token } });
    return hiy;
  };

  test('A, then B: A is revoked everywhere, B and other tokens work; A again stays revoked', async () => {
    const [a, b] = [newValue(), newValue()];
    let server = await start(a);
    const withA = apiClient({ url: server.url, token: a });
    assert.equal((await withA('POST', '/apps', { name: APP })).status, 201);
    const laptop = (await withA('POST', '/tokens', { name: 'laptop' })).body as { value: string; token: { id: number } };
    await server.stop();

    server = await start(b);
    const url = server.url;
    assert.equal((await apiClient({ url, token: a })('GET', '/apps')).status, 401, 'the old bootstrap token is refused');
    assert.equal((await apiClient({ url, token: b })('GET', '/apps')).status, 200, 'the new one works');
    assert.equal((await apiClient({ url, token: laptop.value })('GET', '/apps')).status, 200, 'tokens made through the API are kept');
    const refs = await run('git', ['ls-remote', remoteUrl(url, APP, a)]);
    assert.notEqual(refs.code, 0, 'the old token does not open the git remote');
    assert.equal((await run('git', ['ls-remote', remoteUrl(url, APP, b)])).code, 0);
    const tokens = (await apiClient({ url, token: b })('GET', '/tokens')).body.tokens as { id: number; name: string; prefix: string; revoked_at: string | null }[];
    const byPrefix = (v: string) => tokens.find((t) => v.startsWith(t.prefix));
    assert.ok(byPrefix(a)?.revoked_at, 'A is listed as revoked');
    assert.equal(byPrefix(b)?.revoked_at, null);
    assert.match(server.output(), /HIY_ADMIN_TOKEN changed: the previous bootstrap token is revoked/);
    await server.stop();

    // Going back to A (a revoked value) is refused loudly; B, the last good one, stays valid.
    server = await start(a);
    assert.equal((await apiClient({ url: server.url, token: a })('GET', '/apps')).status, 401);
    assert.equal((await apiClient({ url: server.url, token: b })('GET', '/apps')).status, 200);
    assert.match(server.output(), /HIY_ADMIN_TOKEN holds a revoked token: it is not accepted/);
  });
});
