/**
 * `hiy nodes`, `nodes:add`, `nodes:label`, `nodes:remove` against a real hiy driving a namespaced
 * engine (harness/swarm.ts with swarm: false): hiy makes the Swarm, a second engine joins with the
 * printed command's token, labels land on the node, and removing drains the node's tasks to the
 * other node before it goes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDocker } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import { freePort } from '../../harness/ports.js';
import { startHiy, type HiyProcess } from '../../harness/server.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { runHiy } from '../helpers/processes.js';
import type { NodesAnswer } from '../../src/contract.js';
import { setPassword } from '../ui/dashboard-app.js';
import { dashboardSession } from '../helpers/dashboard-session.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runCurl = (args: string[]) => new Promise<string>((resolve) => execFile('curl', ['--max-time', '10', ...args], (_e, out) => resolve(String(out))));

describe('hiy nodes on a real Swarm that hiy starts', { timeout: 300_000 }, () => {
  let swarm: TestSwarm;
  let hiy: HiyProcess;
  let env: Record<string, string>;
  let dataDir: string | undefined;
  const cli = (...args: string[]) => runHiy(args, { HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, 120_000);
  const nodes = async (): Promise<NodesAnswer> => {
    const r = await cli('nodes', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as NodesAnswer;
  };
  const n2 = () => swarm.nodes[1]!.hostname;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    swarm = await startSwarm({ nodes: 2, swarm: false });
    await swarm.loadImages([BUSYBOX_IMAGE]);
    // The registry on the host's address in the nodes' subnet; node 1's engine (hiy's) trusts it
    // through its own /etc/docker, never the host's.
    env = {
      HIY_DOCKER_HOST: swarm.nodes[0]!.dockerHost, HIY_REGISTRY_HOST: swarm.hostAddress, HIY_REGISTRY_PORT: String(await freePort()),
      HIY_DOCKER_CERTS_DIR: join(swarm.nodes[0]!.etcDocker, 'certs.d'),
    };
    // Kept across the restart test; removed in after().
    hiy = await startHiy({ env, keepDataDir: true });
    dataDir = hiy.dataDir;
  });
  after(async () => {
    await hiy?.stop();
    await swarm?.teardown();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('one box without Swarm is one node, and hiy nodes says how to add one', async () => {
    const r = await cli('nodes');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hiy nodes:add starts one/);
    const j = await nodes();
    assert.equal(j.swarm, 'inactive');
    assert.equal(j.nodes.length, 1);
    assert.equal(j.nodes[0]!.name, swarm.nodes[0]!.hostname);
    assert.ok(j.nodes[0]!.cpus > 0 && j.nodes[0]!.memory_bytes > 0, 'CPU and memory come from the engine');
    // In use: the host sample hiy takes anyway (no agent, nothing started for it on one engine).
    const usage = j.nodes[0]!.usage;
    assert.ok(usage && usage.memory_used_bytes > 0 && usage.cpu_pct >= 0 && usage.cpu_pct <= 100, JSON.stringify(usage));
    assert.match(r.stdout, /CPU USE .* MEMORY USE/);
  });

  test('nodes:add makes the Swarm and prints the one command; a box running it joins', async () => {
    const bare = await fetch(`${hiy.url}/api/v1/nodes`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${hiy.token}`, 'content-type': 'application/json' } });
    assert.equal(bare.status, 409, 'a bare POST never makes the engine a Swarm');
    assert.equal((await nodes()).swarm, 'inactive');

    const bad = await cli('nodes:add', '--advertise-addr', 'not an address;');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /is not an address/);

    const r = await cli('nodes:add', '--advertise-addr', swarm.nodes[0]!.address);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /now a Swarm manager/);
    const m = /sudo sh -c 'mkdir -p \/etc\/docker\/certs\.d\/(\S+) && echo ([A-Za-z0-9+/=]+) \| base64 -d > \/etc\/docker\/certs\.d\/\1\/ca\.crt && apt-get update && apt-get install -y docker\.io && docker swarm join --token (SWMTKN-\S+) (\S+:2377)'/.exec(r.stdout);
    assert.ok(m, `the join command: ${r.stdout}`);
    assert.equal(m[4], `${swarm.nodes[0]!.address}:2377`);
    const registry = m[1]!;
    assert.match(registry, new RegExp(`^${swarm.hostAddress.replace(/\./g, '\\.')}:\\d+$`));
    const caPem = Buffer.from(m[2]!, 'base64').toString();
    assert.equal(caPem, readFileSync(join(hiy.dataDir, 'registry', 'ca.crt'), 'utf8'), 'the command carries the registry CA');
    assert.equal(readFileSync(join(swarm.nodes[0]!.etcDocker, 'certs.d', registry, 'ca.crt'), 'utf8'), caPem, 'hiy\'s own engine trusts it');
    // The registry answers over TLS with that CA, and wants a login.
    const probe = await runCurl(['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(hiy.dataDir, 'registry', 'ca.crt'), `https://${registry}/v2/`]);
    assert.equal(probe, '401');
    // The second box already has Docker: the trust and join parts of the command, with the printed CA and token.
    swarm.trustRegistry(registry, caPem, [1]);
    const joined = await swarm.docker(1, ['swarm', 'join', '--token', m[3]!, '--advertise-addr', swarm.nodes[1]!.address, m[4]!]);
    assert.equal(joined.code, 0, joined.stderr);

    let j = await nodes();
    for (let i = 0; i < 60 && !(j.nodes.length === 2 && j.nodes.every((n) => n.state === 'ready')); i++) { await sleep(500); j = await nodes(); }
    assert.equal(j.swarm, 'active');
    assert.deepEqual(j.nodes.map((n) => [n.name, n.state, n.role, n.leader, n.address]), [
      [swarm.nodes[0]!.hostname, 'ready', 'manager', true, swarm.nodes[0]!.address],
      [n2(), 'ready', 'worker', false, swarm.nodes[1]!.address],
    ]);

    const again = await cli('nodes:add', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).swarm_started, false, 'a second call only prints the command');
    assert.equal(JSON.parse(again.stdout).registry, registry);
  });

  test('nodes:label sets and removes labels; bad ones are refused', async () => {
    const set = await cli('nodes:label', n2(), 'role=fast', 'disk=ssd');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /disk=ssd role=fast|role=fast disk=ssd/);
    const unset = await cli('nodes:label', n2(), 'disk=', '--json');
    assert.deepEqual(JSON.parse(unset.stdout).node.labels, { role: 'fast' });
    const inspect = await swarm.docker(0, ['node', 'inspect', '--format', '{{json .Spec.Labels}}', n2()]);
    assert.deepEqual(JSON.parse(inspect.stdout), { role: 'fast' }, 'the label is on the Swarm node');
    const bad = await cli('nodes:label', n2(), 'Bad Key=x');
    assert.notEqual(bad.code, 0);
    const unknown = await cli('nodes:label', 'no-such-node', 'a=b');
    assert.match(unknown.stderr, /no node "no-such-node"/);
  });

  test('the dashboard\'s system page lists both nodes with CPUs, memory and labels', async () => {
    assert.equal((await setPassword(hiy, 'correct horse battery staple')).code, 0);
    const cookie = await dashboardSession(hiy.url, 'correct horse battery staple');
    const page = await fetch(`${hiy.url}/system`, { headers: { cookie } });
    assert.match(await page.text(), /hx-get="\/system\/nodes"/);
    const frag = await (await fetch(`${hiy.url}/system/nodes`, { headers: { cookie } })).text();
    for (const n of swarm.nodes) assert.ok(frag.includes(n.hostname) && frag.includes(n.address), `${n.hostname} listed: ${frag}`);
    assert.match(frag, /role=fast/);
    assert.match(frag, /\(manager, hiy\)/);
  });

  test('hiy nodes shows the apps placed on each node; nodes:remove drains them to the other node first', async () => {
    const instance = readFileSync(join(hiy.dataDir, 'instance-id'), 'utf8').trim();
    const svc = await swarm.docker(0, ['service', 'create', '--detach', '--name', 'placed', '--replicas', '2', '--replicas-max-per-node', '1',
      '--container-label', 'hiy.app=placed', '--container-label', `hiy.instance=${instance}`, BUSYBOX_IMAGE, 'sleep', '3600']);
    assert.equal(svc.code, 0, svc.stderr);
    let j = await nodes();
    for (let i = 0; i < 60 && !j.nodes.every((n) => n.apps.includes('placed')); i++) { await sleep(500); j = await nodes(); }
    assert.deepEqual(j.nodes.map((n) => n.apps), [['placed'], ['placed']], 'one task on each node');

    const refused = await cli('nodes:remove', n2());
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--confirm/);
    assert.equal((await nodes()).nodes.length, 2, 'nothing removed without confirmation');

    // One task per node at most: the drained node's task can go nowhere, so lift that first.
    assert.equal((await swarm.docker(0, ['service', 'update', '--detach', '--replicas-max-per-node', '0', 'placed'])).code, 0);
    const r = await cli('nodes:remove', n2(), '--confirm', n2());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Drained and removed/);
    j = await nodes();
    assert.deepEqual(j.nodes.map((n) => n.name), [swarm.nodes[0]!.hostname]);
    const running = await swarm.docker(0, ['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}', 'placed']);
    const rows = running.stdout.trim().split('\n');
    assert.equal(rows.length, 2);
    assert.ok(rows.every((l) => l.startsWith(`${swarm.nodes[0]!.hostname} `)), `both tasks on node 1: ${running.stdout}`);
  });

  test('after a restart of hiy the registry serves again (nodes were added here), with the same CA', async () => {
    const ca = readFileSync(join(hiy.dataDir, 'registry', 'ca.crt'), 'utf8');
    if (!dataDir) throw new Error('no data dir');
    const registry = `${swarm.hostAddress}:${env.HIY_REGISTRY_PORT}`;
    await hiy.stop();
    assert.equal(await runCurl(['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dataDir, 'registry', 'ca.crt'), `https://${registry}/v2/`]), '000', 'stopped with hiy');
    hiy = await startHiy({ env, dataDir, keepDataDir: true });
    let code = '';
    for (let i = 0; i < 100 && code !== '401'; i++) {
      code = await runCurl(['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(dataDir, 'registry', 'ca.crt'), `https://${registry}/v2/`]);
      if (code !== '401') await sleep(200);
    }
    assert.equal(code, '401', hiy.output().slice(-3000));
    assert.equal(readFileSync(join(dataDir, 'registry', 'ca.crt'), 'utf8'), ca, 'the nodes keep trusting it');
  });
});
