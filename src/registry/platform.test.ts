import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { platformName, requireRunnable, runsOn } from './platform.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

describe('which images run on this box', { timeout: 10_000 }, () => {
  it('matches os and architecture, with the kernel\'s and the engine\'s names for the same CPU', () => {
    assert.equal(runsOn(amd64, amd64), true);
    assert.equal(runsOn(arm64, { os: 'linux', architecture: 'aarch64' }), true);
    assert.equal(runsOn({ os: 'linux', architecture: 'arm64', variant: 'v8' }, arm64), true);
    assert.equal(runsOn(arm64, amd64), false);
    assert.equal(runsOn({ os: 'windows', architecture: 'amd64' }, amd64), false);
    assert.equal(runsOn({ os: 'linux', architecture: 'arm', variant: 'v6' }, { os: 'linux', architecture: 'arm', variant: 'v7' }), false);
    assert.equal(runsOn({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm' }), true);
  });

  it('refuses an image none of whose platforms runs here, naming both sides', () => {
    assert.throws(() => requireRunnable('ghcr.io/me/shop:v2', [arm64], amd64), (err: Error) => {
      assert.match(err.message, /ghcr\.io\/me\/shop:v2 is built for linux\/arm64, but this box runs linux\/amd64/);
      return true;
    });
    assert.throws(() => requireRunnable('x', [arm64, { os: 'linux', architecture: 'arm', variant: 'v7' }], amd64), /built for linux\/arm64, linux\/arm\/v7/);
    assert.doesNotThrow(() => requireRunnable('x', [arm64, amd64], amd64));
    assert.doesNotThrow(() => requireRunnable('x', [], amd64), 'a registry that names no platform is checked after the pull');
    assert.equal(platformName({ os: 'Linux', architecture: 'x86_64' }), 'linux/amd64');
  });
});
