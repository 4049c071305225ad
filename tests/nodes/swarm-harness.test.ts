/**
 * The multi-node Swarm harness (harness/swarm.ts) does what the Swarm runtime's tests rely on:
 * two Ready nodes, an overlay network with a dnsrr service whose tasks on both nodes reach each
 * other across it, host-mode ports on each node reachable from the host, and a teardown (also of
 * a killed run's leftovers) that leaves nothing behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { ensureDocker, httpGet, waitForHttp } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { PREFIX, sweepStaleRuns } from '../../harness/swarm-cleanup.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PORT = 18080;
const HTTPD = ['sh', '-c', 'mkdir -p /tmp/w && hostname > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w'];

/** Everything on this machine that carries the run's names. */
function traces(id: string): string[] {
  const mark = `${PREFIX}${id}`;
  const found: string[] = [];
  for (const dir of ['/run', '/var/lib', '/run/netns']) if (existsSync(dir)) found.push(...readdirSync(dir).filter((n) => n.startsWith(mark)).map((n) => `${dir}/${n}`));
  const links = execFileSync('ip', ['-o', 'link', 'show']).toString();
  if (links.includes(mark)) found.push('a host link');
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    try { found.push(...readdirSync(`/sys/fs/cgroup/${ctrl}`).filter((n) => n.startsWith(mark)).map((n) => `cgroup ${ctrl}/${n}`)); } catch { /* a file */ }
  }
  return found;
}

describe('a real two-node Swarm on this machine', { timeout: 300_000 }, () => {
  let swarm: TestSwarm;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    const started = Date.now();
    swarm = await startSwarm({ nodes: 2 });
    console.log(`two nodes Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await swarm.loadImages([BUSYBOX_IMAGE]);
  });
  after(async () => {
    if (!swarm) return;
    const started = Date.now();
    await swarm.teardown();
    console.log(`teardown in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual(traces(swarm.id), [], 'teardown leaves no trace');
  });

  test('both nodes are Ready, each under its own name, node 1 the leader', async () => {
    const r = await swarm.docker(0, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.trimEnd()).sort();
    assert.deepEqual(rows, [`${swarm.nodes[0]!.hostname} Ready Leader`, `${swarm.nodes[1]!.hostname} Ready`]);
  });

  test('an overlay network and a dnsrr service span both nodes; host-mode ports answer on each node', async () => {
    const net = await swarm.docker(0, ['network', 'create', '--driver', 'overlay', '--attachable', 'hiysw-test']);
    assert.equal(net.code, 0, net.stderr);
    const svc = await swarm.docker(0, ['service', 'create', '--detach', '--name', 'web', '--mode', 'global', '--endpoint-mode', 'dnsrr',
      '--network', 'hiysw-test', '--publish', `mode=host,target=8080,published=${PORT}`, BUSYBOX_IMAGE, ...HTTPD]);
    assert.equal(svc.code, 0, svc.stderr);

    // From the host, each node's address answers on the published port with its own task.
    const names = new Set<string>();
    for (const n of swarm.nodes) names.add((await waitForHttp(`http://${n.address}:${PORT}/`, 60_000)).body.trim());
    assert.equal(names.size, 2, 'two different tasks answered');

    // Across the overlay: from the task on node 1, dnsrr resolves both tasks and both answer.
    const ps = await swarm.docker(0, ['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web']);
    const container = ps.stdout.trim().split('\n')[0];
    assert.ok(container, 'a task runs on node 1');
    let ips: string[] = [];
    for (let i = 0; i < 50 && ips.length < 2; i++) {
      const lookup = await swarm.docker(0, ['exec', container, 'nslookup', 'web']);
      ips = [...lookup.stdout.matchAll(/Address: (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!).filter((a) => !a.endsWith('.11'));
      if (ips.length < 2) await sleep(200);
    }
    assert.equal(ips.length, 2, 'dnsrr gives both tasks');
    const seen = new Set<string>();
    for (const a of ips) {
      // busybox-static's wget crashes in a scratch image (no NSS); nc speaks the HTTP itself.
      const r = await swarm.docker(0, ['exec', container, 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 "$0" 8080', a]);
      assert.equal(r.code, 0, r.stderr);
      seen.add(r.stdout.trim().split('\n').pop()!.trim());
    }
    assert.deepEqual([...seen].sort(), [...names].sort(), 'node 1 reached both tasks over the overlay');
  });

  test('killDockerd kills one node\'s engine with SIGKILL', async () => {
    await swarm.killDockerd(1);
    const r = await swarm.docker(1, ['info', '--format', '{{.ID}}'], 10_000);
    assert.notEqual(r.code, 0, 'node 2\'s engine no longer answers');
  });

  test('killNode takes a node down: the manager sees it Down and its port stops answering', async () => {
    await swarm.killNode(1);
    await assert.rejects(httpGet(`http://${swarm.nodes[1]!.address}:${PORT}/`, 1000));
    let status = '';
    for (let i = 0; i < 120 && status !== 'Down'; i++) {
      const r = await swarm.docker(0, ['node', 'inspect', '--format', '{{.Status.State}}', swarm.nodes[1]!.hostname]);
      status = r.stdout.trim() === 'down' ? 'Down' : r.stdout.trim();
      if (status !== 'Down') await sleep(500);
    }
    assert.equal(status, 'Down');
    assert.equal((await httpGet(`http://${swarm.nodes[0]!.address}:${PORT}/`)).status, 200, 'node 1 still serves');
  });

  test('a sweep removes a run whose owner is gone, and leaves live runs alone', async () => {
    // Leftovers of a run whose owner died: pid 1 with a start time it never had.
    const dead = (0x3fff - Math.floor(Math.random() * 256)).toString(16);
    mkdirSync(`/run/${PREFIX}${dead}`);
    writeFileSync(`/run/${PREFIX}${dead}/owner`, '1 0\n');
    mkdirSync(`/var/lib/${PREFIX}${dead}/n1`, { recursive: true });
    execFileSync('ip', ['netns', 'add', `${PREFIX}${dead}-br`]);
    assert.ok(traces(dead).length >= 3);
    const swept = await sweepStaleRuns();
    assert.ok(swept.includes(dead), 'the dead run was swept');
    assert.deepEqual(traces(dead), []);
    assert.ok(!swept.includes(swarm.id), 'this run is alive: not swept');
    assert.ok(traces(swarm.id).length > 0);
  });
});
