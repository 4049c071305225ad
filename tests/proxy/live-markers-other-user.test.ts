/**
 * Production Caddy is Debian's caddy.service, running as its own user: the host files and live
 * markers hiy writes as root (umask 0077 under systemd) must still steer it. If a marker could not
 * be stat'ed, Caddy would silently fall back to every slot port and drained releases would get
 * requests; if a host file could not, the app would answer 404.
 * Here a real Caddy runs as `nobody` and must follow the marker.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCaddyConfig } from '../../src/proxy/caddy-config.js';
import { createHostFiles } from '../../src/proxy/host-files.js';
import { createLiveMarkers, prepareRunDir } from '../../src/proxy/live.js';
import { allSlotPorts } from '../../src/slots.js';
import { get, startSlotServer, waitUntilAnswers, type SlotServer } from '../../harness/caddy.js';
import { freePorts, freeSlotPortBase } from '../../harness/ports.js';

const NOBODY = 65534;
const runsAsRoot = process.getuid?.() === 0;

describe(`live markers steer a Caddy that runs as another user${runsAsRoot ? '' : ' (skipped: needs root to start Caddy as nobody)'}`, { timeout: 60_000, skip: !runsAsRoot }, () => {
  let root: string;
  let caddy: ChildProcess | undefined;
  const servers: SlotServer[] = [];
  let httpPort: number;
  let liveDir: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hiy-test-live-user-'));
    chmodSync(root, 0o711); // like /run: searchable by everyone
    const umask = process.umask(0o077); // what hiy.service sets
    try {
      liveDir = prepareRunDir(join(root, 'run'));
      await createHostFiles(liveDir).set('0', ['shop.localhost']);
      await createLiveMarkers(liveDir).set('0', { slot: 'a', replicas: 1 });
    } finally {
      process.umask(umask);
    }
    const [admin, http, https] = await freePorts(3) as [number, number, number];
    const slotPortBase = await freeSlotPortBase(1);
    const [a, b] = allSlotPorts({ slot_index: 0 }, slotPortBase) as [number, number];
    httpPort = http;
    servers.push(await startSlotServer(a, 'from slot a'), await startSlotServer(b, 'from slot b'));
    const config = buildCaddyConfig({}, {
      adminAddress: { host: '127.0.0.1', port: admin }, listenHost: '127.0.0.1', httpPort: http, httpsPort: https,
      tls: 'off', domain: 'localhost', controlPlane: { host: '127.0.0.1', port: admin }, liveDir, slotPortBase,
    }, 16);
    const stateDir = mkdtempSync(join(root, 'state-'));
    writeFileSync(join(stateDir, 'caddy.json'), JSON.stringify(config));
    chownSync(stateDir, NOBODY, NOBODY);
    chownSync(join(stateDir, 'caddy.json'), NOBODY, NOBODY);
    caddy = spawn('/usr/bin/caddy', ['run', '--config', join(stateDir, 'caddy.json')], {
      uid: NOBODY, gid: NOBODY, cwd: stateDir, stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', HOME: stateDir, XDG_DATA_HOME: stateDir, XDG_CONFIG_HOME: stateDir },
    });
    await waitUntilAnswers(http, 10_000);
  });

  after(async () => {
    caddy?.kill('SIGKILL');
    for (const s of servers) await s.close('abrupt').catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('sends every request to the marked slot, and to the other one once the marker moves', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await get(httpPort, 'shop.localhost')).body, 'from slot a');
    const umask = process.umask(0o077);
    try {
      await createLiveMarkers(liveDir).set('0', { slot: 'b', replicas: 1 });
    } finally {
      process.umask(umask);
    }
    for (let i = 0; i < 4; i++) assert.equal((await get(httpPort, 'shop.localhost')).body, 'from slot b');
  });
});
