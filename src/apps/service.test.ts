import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../config.js';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { HiyError } from '../errors.js';
import { createLogger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Services } from '../services.js';
import { appView, createApp, destroyApp } from './service.js';
import { findApp } from './repo.js';

// The logic around the adapters (order, undo, tolerance) with recording fakes; the real adapters
// are exercised by the API tests and their own tests.

const dir = mkdtempSync(join(tmpdir(), 'hiy-app-service-'));
let opened: OpenedDb;
before(async () => { opened = await openDatabase(join(dir, 'hiy.db')); });
after(async () => { await opened.close(); rmSync(dir, { recursive: true, force: true }); });

interface Harness { s: Services; calls: string[]; logs: () => string }

function harness(fail: { repo?: boolean; proxy?: boolean; docker?: boolean } = {}): Harness {
  const calls: string[] = [];
  let logs = '';
  const sink = new Writable({ write(c: Buffer, _e, cb) { logs += c.toString(); cb(); } });
  const runtime: Partial<Runtime> = {
    list: async ({ app } = {}) => { calls.push(`docker list ${app}`); return [{ id: 'c1' }, { id: 'c2' }] as never; },
    remove: async (id) => { calls.push(`docker rm ${id}`); },
    listImages: async ({ app } = {}) => { calls.push(`docker images ${app}`); return [{ id: 'i1', tags: ['hiy/gone:abc', 'hiy/gone:def'] }] as never; },
    removeImage: async (id) => { calls.push(`docker rmi ${id}`); },
    removeNetwork: async (app) => { calls.push(`docker network rm ${app}`); },
    listAddonContainers: async () => [],
  };
  const s = {
    config: loadConfig({ HIY_DATA_DIR: dir, HIY_DOMAIN: 'pi.example.com', HIY_HTTPS_PORT: '8443' }),
    log: createLogger('info', sink),
    db: opened.db,
    secrets: undefined,
    repos: {
      create: async (app: string) => { calls.push(`repo create ${app}`); if (fail.repo) throw new Error('disk full'); },
      remove: async (app: string) => { calls.push(`repo remove ${app}`); },
    },
    proxy: {
      setRoute: async (r: { app: string; slotIndex: number }) => {
        calls.push(`route set ${r.app} ${r.slotIndex}`);
        if (fail.proxy) throw new HiyError('unavailable', 'caddy is down');
      },
      removeRoute: async (app: string) => { calls.push(`route remove ${app}`); if (fail.proxy) throw new Error('caddy is down'); },
    },
    runtime: async () => { if (fail.docker) throw new Error('connect ENOENT /var/run/docker.sock'); return runtime; },
    deployer: { forgetApp: async (app: string) => { calls.push(`forget ${app}`); } },
    runs: {
      closeApp: async (app: string) => { calls.push(`runs close ${app}`); },
      reopenApp: (app: string) => { calls.push(`runs reopen ${app}`); },
    },
    appsChanged: async () => undefined,
    containers: { byApp: async () => new Map(), byAppOf: async () => new Map() },
  } as unknown as Services;
  return { s, calls, logs: () => logs };
}

describe('app service', { timeout: 30_000 }, () => {
  it('creates the row, the repo and the route on the app\'s slot index', async () => {
    const h = harness();
    const app = await createApp(h.s, { name: 'blog', port: 8080 });
    assert.deepEqual(h.calls, ['repo create blog', `route set blog ${app.slot_index}`]);
    const view = await appView(h.s, app);
    assert.equal(view.domain, 'blog.pi.example.com');
    assert.equal(view.url, 'https://blog.pi.example.com:8443');
    assert.equal(view.git_remote, 'https://hiy.pi.example.com:8443/git/blog.git');
    assert.equal(view.current_release, null);
    assert.equal(view.last_deploy, null);
  });

  it('undoes the row when the repo cannot be made', async () => {
    const h = harness({ repo: true });
    await assert.rejects(createApp(h.s, { name: 'norepo' }), /git repository of "norepo" could not be created: disk full/);
    assert.equal(await findApp(h.s.db, 'norepo'), undefined);
  });

  it('undoes the repo and the row when the proxy refuses the route', async () => {
    const h = harness({ proxy: true });
    await assert.rejects(createApp(h.s, { name: 'noroute' }), (e: unknown) => e instanceof HiyError && e.status === 503 && /caddy is down/.test(e.message));
    assert.deepEqual(h.calls.slice(-1), ['repo remove noroute']);
    assert.equal(await findApp(h.s.db, 'noroute'), undefined);
  });

  it('destroys in order: queue, one-off runs, route, containers, images, network, repo, row', async () => {
    const h = harness();
    await createApp(h.s, { name: 'gone' });
    h.calls.length = 0;
    await destroyApp(h.s, 'gone');
    assert.deepEqual(h.calls, ['forget gone', 'runs close gone', 'route remove gone', 'docker list gone', 'docker rm c1', 'docker rm c2',
      'docker images gone', 'docker rmi hiy/gone:abc', 'docker rmi hiy/gone:def', 'docker network rm gone', 'repo remove gone', 'runs reopen gone']);
    assert.equal(await findApp(h.s.db, 'gone'), undefined);
  });

  it('destroys even when Docker and the proxy are down, and says so in the log', async () => {
    await createApp(harness().s, { name: 'nodocker' });
    const h = harness({ docker: true, proxy: true });
    await destroyApp(h.s, 'nodocker');
    assert.equal(await findApp(h.s.db, 'nodocker'), undefined);
    assert.match(h.logs(), /docker is not available/);
    assert.match(h.logs(), /could not remove the proxy route/);
  });

  it('reports an unknown app as not found before touching anything', async () => {
    const h = harness();
    await assert.rejects(destroyApp(h.s, 'nope'), (e: unknown) => e instanceof HiyError && e.status === 404);
    assert.deepEqual(h.calls, []);
  });
});
