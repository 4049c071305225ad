/**
 * An app on the test Swarm (harness/swarm.ts), as the tests of tests/nodes/ see it: where its
 * web tasks run (`docker ps` on each node), a busybox app whose /cgi-bin/host answers which task
 * served, and load through Caddy around a step.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { remoteUrl, WorkingCopy } from './git.js';
import { startLoad, type LoadOptions, type LoadReport } from './load.js';
import { repoRoot } from './paths.js';
import type { apiClient, HiyProcess } from './server.js';
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
