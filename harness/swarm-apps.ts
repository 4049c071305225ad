/**
 * An app on the test Swarm (harness/swarm.ts), as the tests of tests/nodes/ see it: where its
 * web tasks run (`docker ps` on each node), a busybox app whose /cgi-bin/host answers which task
 * served, and load through Caddy around a step.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { remoteUrl, WorkingCopy } from './git.js';
import { startLoad, type LoadOptions, type LoadReport } from './load.js';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';
import { apiClient, startHiy, type HiyOptions, type HiyProcess } from './server.js';
import type { TestSwarm } from './swarm.js';

export interface TaskContainer { node: number; id: string; service: string }

/** The running task containers of an app's web process, on every node. */
export async function webTasks(swarm: TestSwarm, app: string): Promise<TaskContainer[]> {
  const out: TaskContainer[] = [];
  for (let node = 0; node < swarm.nodes.length; node++) {
    const r = await swarm.docker(node, ['ps', '--filter', `label=hiy.app=${app}`, '--filter', 'label=hiy.process=web', '--filter', 'label=com.docker.swarm.service.id', '--format', '{{.ID}} {{.Label "com.docker.swarm.service.name"}}']);
    for (const line of r.stdout.trim().split('\n').filter(Boolean)) {
      const [id, service] = line.split(' ');
      assert.ok(id && service, `a task container and its service: ${line}`);
      out.push({ node, id, service });
    }
  }
  return out;
}

export interface CgiApp {
  wc: WorkingCopy;
  /** Commits `body` as index.html and pushes it to the hiy of the moment; answers the push. */
  push(body: string): Promise<{ code: number; stderr: string }>;
}

/** Creates `name` on hiy and a working copy of the busybox app with /cgi-bin/host (the task's hostname: its container id). */
export async function cgiApp(hiy: () => HiyProcess, api: ReturnType<typeof apiClient>, name: string): Promise<CgiApp> {
  const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  mkdirSync(join(wc.dir, 'www', 'cgi-bin'));
  writeFileSync(join(wc.dir, 'www', 'cgi-bin', 'host'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nhostname\n');
  chmodSync(join(wc.dir, 'www', 'cgi-bin', 'host'), 0o755);
  const created = await api('POST', '/apps', { name, port: 8080, health_timeout_s: 30, drain_s: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return {
    wc,
    async push(body) {
      wc.write('www/index.html', body);
      await wc.commit(body);
      return wc.push(remoteUrl(hiy().url, name, hiy().token));
    },
  };
}

/** Load through Caddy while `fn` runs; the loops stop also when `fn` fails (they would hold the test run open). */
export async function underLoad(target: Omit<LoadOptions, 'keepAliveConnections' | 'freshConnectionLoops'> & Partial<LoadOptions>, fn: () => Promise<void>): Promise<LoadReport> {
  const load = startLoad({ keepAliveConnections: 4, freshConnectionLoops: 2, ...target });
  try {
    await fn();
  } catch (err) {
    await load.stop();
    throw err;
  }
  return load.stop();
}

export interface HiyOnSwarm {
  hiy: HiyProcess;
  /** The env to start it again with (same ports, token, registry). */
  env: Record<string, string>;
  /** host:port of hiy's registry the nodes pull from. */
  registry: string;
  caPem: string;
}

/**
 * hiy driving node 1 of the test Swarm with its images reaching the other nodes only through
 * hiy's registry (no HIY_SWARM_NODE_ENGINES: nothing is copied by save | load): nodes:add starts
 * the registry, the other nodes trust its CA as the join command makes them
 * (certs.d/<host:port>/ca.crt), and hiy restarts, as docs/nodes.md says, so its runtime uses it.
 * The data dir is kept: the caller removes it.
 */
export async function startHiyOnSwarm(swarm: TestSwarm, env: Record<string, string> = {}, opts: HiyOptions = {}): Promise<HiyOnSwarm> {
  let all: Record<string, string> = {
    HIY_DOCKER_HOST: swarm.nodes[0]!.dockerHost, HIY_REGISTRY_HOST: swarm.hostAddress, HIY_REGISTRY_PORT: String(await freePort()),
    HIY_DOCKER_CERTS_DIR: join(swarm.nodes[0]!.etcDocker, 'certs.d'),
    // No IPsec ESP in this kernel (CONFIG_INET_ESP unset): an encrypted overlay carries nothing
    // between nodes here (measured), so the tests use plain ones.
    HIY_OVERLAY_ENCRYPTION: 'off',
    ...env,
  };
  const first = await startHiy({ ...opts, env: all, keepDataDir: true });
  const added = await apiClient(first)('POST', '/nodes', { init_swarm: true });
  await first.stop();
  if (added.status !== 201) rmSync(first.dataDir, { recursive: true, force: true });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const registry = (added.body as { registry: string }).registry;
  const caPem = readFileSync(join(first.dataDir, 'registry', 'ca.crt'), 'utf8');
  swarm.trustRegistry(registry, caPem, swarm.nodes.slice(1).map((_, i) => i + 1));
  all = { ...all, HIY_SLOT_PORT_BASE: first.env.HIY_SLOT_PORT_BASE!, HIY_ADMIN_TOKEN: first.token };
  const hiy = await startHiy({ ...opts, dataDir: first.dataDir, keepDataDir: true, env: all });
  return { hiy, env: all, registry, caPem };
}
