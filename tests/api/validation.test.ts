import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

// Every bad input of issue 2: refused with 400 and a message saying what is allowed, nothing written.

let h: HiyProcess;
let api: ReturnType<typeof apiClient>;
before(async () => {
  h = await startHiy();
  api = apiClient(h);
  assert.equal((await api('POST', '/apps', { name: 'good' })).status, 201);
  assert.equal((await api('PATCH', '/apps/good/env', { vars: { KEEP: 'v' } })).status, 200);
});
after(async () => { await h?.stop(); });

const BAD_NAMES = ['../x', 'A', 'a;id', '$(id)', '-rf', 'a'.repeat(100), 'a b', 'app-', '1app', 'a_b', '', 'ä'];
const RESERVED = ['hiy', 'api', 'git', 'www'];
const NAME_RULE = /app names are 1-30 characters: lowercase letters, digits and "-", starting with a letter/;

async function assertNothingWritten(): Promise<void> {
  const apps = await api('GET', '/apps');
  assert.deepEqual(apps.body.apps.map((a: { name: string }) => a.name), ['good']);
  assert.deepEqual(readdirSync(join(h.dataDir, 'repos')), ['good.git']);
  assert.deepEqual((await api('GET', '/apps/good/env?reveal=true')).body.env, { KEEP: 'v' });
  const good = (await api('GET', '/apps/good')).body.app;
  assert.equal(good.port, 5000);
  assert.equal(good.branch, 'main');
}

function assert400(res: { status: number; body: any }, message: RegExp, what: string): void {
  assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
  assert.match(res.body.error.message, message, what);
  assert.ok(['invalid_name', 'invalid_input', 'bad_request'].includes(res.body.error.code), what);
}

describe('bad input', { timeout: 120_000 }, () => {
  it('refuses bad app names in the body', async () => {
    for (const name of BAD_NAMES) assert400(await api('POST', '/apps', { name }), NAME_RULE, JSON.stringify(name));
    for (const name of RESERVED) assert400(await api('POST', '/apps', { name }), /is reserved; choose another app name/, name);
    assert400(await api('POST', '/apps', { name: 7 }), NAME_RULE, 'number');
    assert400(await api('POST', '/apps', {}), /name is required/, 'missing');
    await assertNothingWritten();
  });

  it('refuses bad app names in the path of every route', async () => {
    for (const name of BAD_NAMES.filter((n) => n !== '')) {
      const p = encodeURIComponent(name);
      for (const [m, path, body] of [
        ['GET', `/apps/${p}`], ['PATCH', `/apps/${p}`, { port: 1 }], ['DELETE', `/apps/${p}`],
        ['GET', `/apps/${p}/env`], ['PATCH', `/apps/${p}/env`, { vars: { A: '1' } }], ['DELETE', `/apps/${p}/env`, { keys: ['A'] }],
        ['DELETE', `/apps/${p}/env/A`], ['GET', `/apps/${p}/deploys`], ['GET', `/apps/${p}/deploys/1`],
      ] as const) {
        assert400(await api(m, path, body), NAME_RULE, `${m} ${path}`);
      }
    }
    assert400(await api('DELETE', '/apps/api'), /is reserved/, 'reserved in path');
    assert.ok(existsSync(join(h.dataDir, 'repos', 'good.git')));
    await assertNothingWritten();
  });

  it('refuses bad settings', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ repo_url: 'http://github.com/x.git' }, /repo_url must be an https:\/\/ URL/],
      [{ repo_url: 'https://user:secret@github.com/x.git' }, /without credentials/],
      [{ repo_url: '--upload-pack=touch /tmp/x' }, /repo_url/],
      [{ repo_url: 'ext::sh -c id' }, /repo_url/],
      [{ repo_url: `https://x.com/${'a'.repeat(500)}` }, /at most 500/],
      [{ branch: '-b' }, /branch names are 1-100 characters/],
      [{ branch: 'a..b' }, /branch/],
      [{ branch: 'x.lock' }, /branch/],
      [{ branch: 'a//b' }, /branch/],
      [{ branch: '/main' }, /branch/],
      [{ branch: '$(id)' }, /branch/],
      [{ port: 0 }, /port must be a whole number from 1 to 65535/],
      [{ port: 70000 }, /port/],
      [{ port: '80' }, /port/],
      [{ memory_mb: 31 }, /memory_mb must be a whole number from 32 to 65536/],
      [{ cpus: 0 }, /cpus must be a number from 0.05 to 64/],
      [{ cpus: 'two' }, /cpus/],
      [{ health_path: 'x' }, /health_path must start with "\/"/],
      [{ health_timeout_s: 99999 }, /health_timeout_s/],
      [{ drain_s: -1 }, /drain_s/],
    ];
    for (const [fields, message] of cases) {
      assert400(await api('POST', '/apps', { name: 'other', ...fields }), message, `create ${JSON.stringify(fields)}`);
      assert400(await api('PATCH', '/apps/good', fields), message, `update ${JSON.stringify(fields)}`);
    }
    await assertNothingWritten();
  });

  it('refuses bad JSON, non-objects, unknown fields and oversized bodies', async () => {
    assert400(await api('POST', '/apps', undefined, { raw: '{"name": "x",' }), /request body is not valid JSON/, 'truncated');
    assert400(await api('POST', '/apps', undefined, { raw: '["x"]' }), /must be a JSON object/, 'array');
    assert400(await api('POST', '/apps', undefined, { raw: '"x"' }), /must be a JSON object/, 'string');
    assert400(await api('POST', '/apps', { name: 'other', prot: 80 }), /unknown field "prot"; allowed: name, repo_url, branch, port/, 'unknown field');
    assert400(await api('PATCH', '/apps/good', { name: 'renamed' }), /cannot be renamed/, 'rename');
    assert400(await api('PATCH', '/apps/good', {}), /nothing to change/, 'empty update');
    assert400(await api('PATCH', '/apps/good/env', { vars: { A: '1' }, restat: false }), /unknown field "restat"/, 'env unknown field');
    assert400(await api('PATCH', '/apps/good/env', { vars: { A: '1' }, restart: 'no' }), /restart must be true or false/, 'restart type');
    assert400(await api('DELETE', '/apps/good/env', { key: ['KEEP'] }), /unknown field "key"/, 'unset unknown field');
    assert400(await api('POST', '/tokens', { name: 'x', scope: 'all' }), /unknown field "scope"/, 'token unknown field');
    const big = await api('POST', '/apps', { name: 'other', repo_url: 'x'.repeat(300 * 1024) });
    assert.equal(big.status, 413);
    assert.match(big.body.error.message, /request body is larger than/);
    await assertNothingWritten();
  });

  it('refuses bad env keys, values and counts, setting none of a batch', async () => {
    for (const key of ['1A', 'A-B', 'A B', '$(id)', 'A=B', 'x'.repeat(129), '']) {
      assert400(await api('PATCH', '/apps/good/env', { vars: { OK_KEY: 'v', [key]: 'v' } }), /letters, digits and "_", not starting with a digit/, `key ${key}`);
    }
    assert400(await api('PATCH', '/apps/good/env', { vars: { PORT: '1' } }), /PORT is set by hiy/, 'PORT');
    assert400(await api('PATCH', '/apps/good/env', { vars: { BIG: 'x'.repeat(32 * 1024 + 1) } }), /^value of BIG is larger than 32 KiB$/, 'big value');
    assert400(await api('PATCH', '/apps/good/env', { vars: { N: 5 } }), /value of N must be a string/, 'number value');
    assert400(await api('PATCH', '/apps/good/env', { vars: { N: 'a\u0000b' } }), /NUL/, 'NUL');
    assert400(await api('PATCH', '/apps/good/env', { vars: {} }), /no variables given/, 'empty');
    assert400(await api('PATCH', '/apps/good/env', { vars: ['A=1'] }), /vars must be an object/, 'array');
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`K${i}`, 'v']));
    assert400(await api('PATCH', '/apps/good/env', { vars: many }), /at most 200 env vars/, 'too many');
    assert400(await api('DELETE', '/apps/good/env', { keys: ['KEEP', 'bad-key'] }), /invalid env key "bad-key"/, 'unset bad key');
    assert400(await api('DELETE', '/apps/good/env', { keys: 'KEEP' }), /keys must be an array/, 'unset string');
    assert400(await api('DELETE', '/apps/good/env/bad-key'), /invalid env key/, 'unset bad key in path');
    assert400(await api('GET', '/apps/good/env?reveal=maybe'), /reveal must be true, false, 1 or 0/, 'reveal');
    await assertNothingWritten();
  });

  it('refuses bad ids, limits and token names', async () => {
    assert400(await api('GET', '/apps/good/deploys?limit=0'), /limit must be a whole number from 1 to 200/, 'limit 0');
    assert400(await api('GET', '/apps/good/deploys?limit=abc'), /limit/, 'limit abc');
    assert400(await api('GET', '/apps/good/deploys/abc'), /deploy id must be a whole number/, 'deploy id');
    assert400(await api('GET', '/apps/good/deploys/-1'), /deploy id/, 'negative deploy id');
    assert400(await api('DELETE', '/tokens/abc'), /token id must be a whole number/, 'token id');
    for (const name of ['', 'x'.repeat(65), 'a;b', 'a\nb', 5]) assert400(await api('POST', '/tokens', { name }), /token name: 1-64 characters/, `token ${String(name)}`);
    assert.equal((await api('GET', '/tokens')).body.tokens.length, 1, 'no token made');
  });
});
