// What more than one box costs the manager (issue #23, docs/nodes.md "Measured costs"): a
// namespaced engine's RSS before and after it becomes a one-node Swarm manager, `swarm init`,
// and the nodes' registry: its files (CA, certificate, bcrypt hash), start to first answer, RSS.
// Run: node dist/bench/node-costs.js   (as root: it starts a namespaced dockerd, harness/swarm.ts)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwarm } from '../harness/swarm.js';
import { freePort } from '../harness/ports.js';
import { openSecretBox } from '../src/env/secret-box.js';
import { createLogger } from '../src/log.js';
import { prepareRegistry } from '../src/nodes/registry-files.js';
import { RegistryServer } from '../src/nodes/registry-server.js';

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows: [string, string][] = [];

const swarm = await startSwarm({ nodes: 1, swarm: false });
const dir = mkdtempSync(join(tmpdir(), 'hiy-node-costs-'));
try {
  const pid = Number(readFileSync(`/run/hiysw-${swarm.id}/n1.pid`, 'utf8'));
  await sleep(5000);
  const before = rssMb(pid);
  const t0 = Date.now();
  const init = await swarm.docker(0, ['swarm', 'init', '--advertise-addr', swarm.nodes[0]!.address]);
  if (init.code !== 0) throw new Error(init.stderr);
  const initMs = Date.now() - t0;
  await sleep(10_000);
  rows.push(['dockerd RSS: no Swarm -> one-node Swarm manager', `${before.toFixed(1)} MB -> ${rssMb(pid).toFixed(1)} MB`]);
  rows.push(['swarm init', `${initMs} ms`]);

  const port = await freePort();
  const secrets = await openSecretBox(join(dir, 'secrets'));
  const t1 = Date.now();
  const reg = await prepareRegistry(join(dir, 'data'), secrets, swarm.hostAddress, port, `${swarm.hostAddress}:${port}`);
  const t2 = Date.now();
  const server = new RegistryServer(reg, createLogger('silent'));
  await server.start();
  const t3 = Date.now();
  await sleep(3000);
  const regPid = Number(execFileSync('pgrep', ['-f', `docker-registry serve ${reg.files.config}`]).toString().trim().split('\n')[0]);
  rows.push(['registry files (CA, certificate, bcrypt), once', `${t2 - t1} ms`]);
  rows.push(['registry start to first answer', `${t3 - t2} ms`]);
  rows.push(['registry RSS', `${rssMb(regPid).toFixed(1)} MB`]);
  await server.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
  await swarm.teardown();
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
