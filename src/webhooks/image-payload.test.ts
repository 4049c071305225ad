import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceOf } from '../apps/source.js';
import { decideNotification, decideRegistryPackage } from './image-payload.js';

const D = `sha256:${'d'.repeat(64)}`;
const ghcr = sourceOf({ source: 'image:ghcr.io/acme/shop', image_tag: 'main' }) as Extract<ReturnType<typeof sourceOf>, { kind: 'image' }>;
const own = sourceOf({ source: 'image:registry.example.com:5000/team/app', image_tag: null }) as typeof ghcr;
const NOW = 1_800_000_000;

describe('signed registry notifications', { timeout: 10_000 }, () => {
  it('deploy the digest they name, or else the followed tag', () => {
    assert.deepEqual(decideNotification(ghcr, { repository: 'ghcr.io/acme/shop', tag: 'main', digest: D, timestamp: NOW }, NOW),
      { deploy: true, reference: `ghcr.io/acme/shop@${D}`, tag: 'main', digest: D });
    assert.deepEqual(decideNotification(ghcr, { repository: 'ghcr.io/acme/shop', tag: 'main', timestamp: NOW - 60 }, NOW),
      { deploy: true, reference: 'ghcr.io/acme/shop:main', tag: 'main', digest: undefined });
    assert.equal((decideNotification(own, { repository: 'registry.example.com:5000/team/app', digest: D, timestamp: NOW }, NOW) as { reference: string }).reference, `registry.example.com:5000/team/app@${D}`);
  });

  it('ignore other tags and refuse other repositories, stale or future timestamps and bad fields', () => {
    const cases: [unknown, number, RegExp][] = [
      [{ repository: 'ghcr.io/acme/shop', tag: 'dev', digest: D, timestamp: NOW }, 200, /ignored: tag dev \(follows main\)/],
      [{ repository: 'ghcr.io/evil/shop', tag: 'main', timestamp: NOW }, 403, /rejected: repository "ghcr.io\/evil\/shop" is not ghcr.io\/acme\/shop/],
      [{ repository: 'ghcr.io/acme/shop', tag: 'main', timestamp: NOW - 301 }, 400, /timestamp is 5 min from hiy's clock/],
      [{ repository: 'ghcr.io/acme/shop', tag: 'main', timestamp: NOW + 3600 }, 400, /a replay, or a wrong clock/],
      [{ repository: 'ghcr.io/acme/shop', tag: 'main' }, 400, /timestamp .* is missing/],
      [{ repository: 'ghcr.io/acme/shop', tag: 'main', timestamp: String(NOW) }, 400, /timestamp/],
      [{ repository: 'ghcr.io/acme/shop', digest: 'sha256:abc', timestamp: NOW }, 400, /digest is not sha256/],
      [{ repository: 'ghcr.io/acme/shop', timestamp: NOW }, 400, /neither tag nor digest/],
      [{ repository: 'ghcr.io/acme/shop', tag: '-x', timestamp: NOW }, 400, /tag is not an image tag/],
      [{ tag: 'main', timestamp: NOW }, 400, /no repository/],
      [[1, 2], 400, /not a JSON object/],
    ];
    for (const [payload, status, outcome] of cases) {
      const d = decideNotification(ghcr, payload, NOW);
      assert.equal(d.deploy, false, JSON.stringify(payload));
      if (!d.deploy) {
        assert.equal(d.status, status, JSON.stringify(payload));
        assert.match(d.outcome, outcome);
      }
    }
  });
});

describe("GitHub's registry_package event", { timeout: 10_000 }, () => {
  const event = (over: { tag?: string; digest?: string; url?: string; type?: string; action?: string } = {}) => ({
    action: over.action ?? 'published',
    registry_package: {
      name: 'shop', namespace: 'acme', ecosystem: 'CONTAINER', package_type: over.type ?? 'CONTAINER',
      package_version: {
        container_metadata: { tag: { name: over.tag ?? 'main', digest: over.digest ?? D } },
        package_url: over.url ?? 'ghcr.io/Acme/shop:main',
      },
      registry: { type: 'CONTAINER', url: 'https://ghcr.io/acme' },
    },
  });

  it('a published tagged version of the app\'s package deploys its digest', () => {
    assert.deepEqual(decideRegistryPackage(ghcr, 'registry_package', event()), { deploy: true, reference: `ghcr.io/acme/shop@${D}`, tag: 'main', digest: D });
  });

  it('other events, actions, types, untagged versions and other packages do not deploy', () => {
    const no = (d: ReturnType<typeof decideRegistryPackage>, status: number, re: RegExp) => {
      assert.equal(d.deploy, false);
      if (!d.deploy) { assert.equal(d.status, status); assert.match(d.outcome, re); }
    };
    no(decideRegistryPackage(ghcr, 'push', event()), 200, /ignored: event push \(the app deploys ghcr\.io\/acme\/shop\)/);
    no(decideRegistryPackage(ghcr, 'registry_package', event({ action: 'updated' })), 200, /ignored: action updated/);
    no(decideRegistryPackage(ghcr, 'registry_package', event({ type: 'npm' })), 200, /ignored: package type npm/);
    no(decideRegistryPackage(ghcr, 'registry_package', event({ tag: '' })), 200, /without a tag/);
    no(decideRegistryPackage(ghcr, 'registry_package', event({ tag: 'v2', url: 'ghcr.io/acme/shop:v2' })), 200, /ignored: tag v2/);
    no(decideRegistryPackage(ghcr, 'registry_package', event({ url: 'ghcr.io/acme/other:main' })), 403, /is not ghcr\.io\/acme\/shop/);
    no(decideRegistryPackage(own, 'registry_package', event()), 409, /not on ghcr\.io/);
  });
});
