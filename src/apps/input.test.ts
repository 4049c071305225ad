import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HiyError } from '../errors.js';
import { parseCreateApp, parseUpdateApp, validateBranch, validateRepoUrl } from './input.js';

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof HiyError && err.status === 400 && pattern.test(err.message));
}

describe('app input', { timeout: 10_000 }, () => {
  it('accepts git-style branch names', () => {
    for (const b of ['main', 'release/1.2', 'feature/x_y-z', 'v1.0', 'a']) assert.equal(validateBranch(b), b);
  });

  it('refuses branch names git or a shell would trip on', () => {
    const bad = ['', '-x', '/x', 'x/', 'a..b', 'a//b', 'x.lock', 'x.', '.x', 'a/.b', 'a b', 'a~1', 'a^', 'a:b', 'a@{1}', 'a\\b',
      '$(id)', 'a;b', 'x'.repeat(101), 'ä', 5];
    for (const b of bad) refused(() => validateBranch(b), /branch names are 1-100 characters/);
  });

  it('accepts https URLs and http to loopback only', () => {
    for (const u of ['https://github.com/me/app.git', 'https://git.example.com:8443/a/b', 'http://127.0.0.1:9000/x.git', 'http://localhost/x', 'http://[::1]:80/x']) {
      assert.equal(validateRepoUrl(u), u);
    }
  });

  it('refuses other URLs', () => {
    const bad = ['http://github.com/x', 'git@github.com:me/app.git', 'ssh://git@github.com/x', 'file:///etc', 'ext::sh -c id', '-uhttps://x',
      'https://user:pw@github.com/x', 'https://token@github.com/x', 'https://github.com/a b', 'https://github.com/a\nb', 'https://', `https://x.com/${'a'.repeat(500)}`, '', 42];
    for (const u of bad) refused(() => validateRepoUrl(u), /repo_url must be an https:\/\/ URL/);
  });

  it('checks numbers, types and bounds', () => {
    refused(() => parseCreateApp({ name: 'a', port: 0 }), /port must be a whole number from 1 to 65535/);
    refused(() => parseCreateApp({ name: 'a', port: 65536 }), /port/);
    refused(() => parseCreateApp({ name: 'a', port: '80' }), /port/);
    refused(() => parseCreateApp({ name: 'a', port: 80.5 }), /port/);
    refused(() => parseCreateApp({ name: 'a', memory_mb: 16 }), /memory_mb must be a whole number from 32 to 65536/);
    refused(() => parseCreateApp({ name: 'a', cpus: 0.01 }), /cpus must be a number from 0.05 to 64/);
    refused(() => parseCreateApp({ name: 'a', cpus: 65 }), /cpus/);
    refused(() => parseCreateApp({ name: 'a', health_path: 'health' }), /health_path must start with "\/"/);
    refused(() => parseCreateApp({ name: 'a', health_path: '/a b' }), /health_path/);
    refused(() => parseCreateApp({ name: 'a', health_path: `/${'a'.repeat(200)}` }), /health_path/);
    refused(() => parseCreateApp({ name: 'a', health_timeout_s: 0 }), /health_timeout_s/);
    refused(() => parseCreateApp({ name: 'a', drain_s: 3601 }), /drain_s/);
    assert.deepEqual(parseCreateApp({ name: 'a', port: 8080, cpus: 1.5, memory_mb: 256, repo_url: null }),
      { name: 'a', port: 8080, cpus: 1.5, memory_mb: 256, repo_url: null });
  });

  it('names unknown fields and requires a name', () => {
    refused(() => parseCreateApp({ name: 'a', prot: 80, colour: 'red' }), /unknown fields "prot", "colour"; allowed: name, repo_url/);
    refused(() => parseCreateApp({}), /name is required/);
    refused(() => parseUpdateApp({ memroy: 5 }), /unknown field "memroy"/);
    refused(() => parseUpdateApp({ name: 'b' }), /cannot be renamed/);
    refused(() => parseUpdateApp({}), /nothing to change/);
    assert.deepEqual(parseUpdateApp({ repo_url: '' }), { repo_url: null });
  });
});
