import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familiar, normalizeRegistryHost, parseReference, parseRepository, repositoryOf } from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', { timeout: 10_000 }, () => {
  it('reads the registry, path, tag and digest as Docker does', () => {
    assert.deepEqual(parseReference('nginx'), { registry: 'docker.io', path: 'library/nginx' });
    assert.deepEqual(parseReference('nginx:1.27'), { registry: 'docker.io', path: 'library/nginx', tag: '1.27' });
    assert.deepEqual(parseReference('me/shop:v2'), { registry: 'docker.io', path: 'me/shop', tag: 'v2' });
    assert.deepEqual(parseReference('ghcr.io/me/shop:main'), { registry: 'ghcr.io', path: 'me/shop', tag: 'main' });
    assert.deepEqual(parseReference('10.0.0.2:5443/team/app'), { registry: '10.0.0.2:5443', path: 'team/app' });
    assert.deepEqual(parseReference(`10.0.0.2:5443/team/app:v1@${D}`), { registry: '10.0.0.2:5443', path: 'team/app', tag: 'v1', digest: D });
    assert.deepEqual(parseReference(`localhost/app@${D}`), { registry: 'localhost', path: 'app', digest: D });
    assert.deepEqual(parseReference('index.docker.io/library/redis'), { registry: 'docker.io', path: 'library/redis' });
    assert.deepEqual(parseReference('Registry.Example.com/a/b-c_d.e'), { registry: 'registry.example.com', path: 'a/b-c_d.e' });
  });

  it('writes them back in full for the engine and short for people', () => {
    assert.equal(repositoryOf(parseReference('nginx')), 'docker.io/library/nginx');
    assert.equal(familiar(parseReference('docker.io/library/nginx:1')), 'nginx:1');
    assert.equal(familiar(parseReference(`ghcr.io/me/shop@${D}`)), `ghcr.io/me/shop@${D}`);
  });

  it('refuses what the grammar does not allow, saying why', () => {
    for (const [raw, why] of [
      ['', /empty/],
      ['Me/Shop', /lowercase/],
      ['ghcr.io/me/shop:-x', /tag/],
      ['shop@sha256:abc', /digest/],
      ['shop@md5:' + 'a'.repeat(32), /digest/],
      ['a b', /spaces/],
      ['ghcr.io//x', /lowercase/],
      ['--help', /lowercase/],
      ['shop:' + 'a'.repeat(129), /tag/],
    ] as const) assert.throws(() => parseReference(raw), why, raw);
    assert.throws(() => parseRepository('ghcr.io/me/shop:v1'), /repository alone/);
    assert.deepEqual(parseRepository('ghcr.io/me/shop'), { registry: 'ghcr.io', path: 'me/shop' });
  });

  it('normalizes registry hosts the way logins are stored', () => {
    assert.equal(normalizeRegistryHost('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeRegistryHost('GHCR.io'), 'ghcr.io');
    assert.equal(normalizeRegistryHost('10.0.0.2:5443'), '10.0.0.2:5443');
    assert.throws(() => normalizeRegistryHost('ghcr.io/me'), /registry host/);
    assert.throws(() => normalizeRegistryHost('-x'), /registry host/);
  });
});
