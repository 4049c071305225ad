import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

// The laptop CLI as a newcomer gets it: downloaded from their hiy (/cli/hiy), checked against
// its sha256, run from a folder with no node_modules anywhere above it, inside the app's clone
// whose `hiy` remote names the app: no app argument anywhere.

const APP = `lap-${randomBytes(3).toString('hex')}`;

interface Run { code: number | null; stdout: string; stderr: string }

let h: HiyProcess;
let wc: WorkingCopy;
let laptop: string;
let cliFile: string;

function hiy(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    // The file itself, through its #! line: as `hiy` on a PATH runs it.
    execFile(cliFile, args, {
      cwd: opts.cwd ?? wc.dir,
      env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: laptop, HIY_URL: h.url, HIY_TOKEN: h.token, ...opts.env },
      timeout: 120_000,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function ok(args: string[], opts?: Parameters<typeof hiy>[1]): Promise<string> {
  const r = await hiy(args, opts);
  assert.equal(r.code, 0, `hiy ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('the laptop CLI: one downloaded file, the app from the git remote', { timeout: 300_000 }, () => {
  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    h = await startHiy();
    laptop = mkdtempSync(join(tmpdir(), 'hiy-laptop-'));
    const api = apiClient(h);
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080, health_timeout_s: 20, drain_s: 1 })).status, 201);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    // The remote as `hiy git:remote` and the README add it: no token in it.
    await wc.git('remote', 'add', 'hiy', `${h.url}/git/${APP}.git`);
    const pushed = await wc.push(remoteUrl(h.url, APP, h.token));
    assert.equal(pushed.code, 0, pushed.stderr);
  });

  after(async () => {
    await h?.stop();
    wc?.remove();
    if (laptop) rmSync(laptop, { recursive: true, force: true });
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  it('is served by hiy with its sha256, without a token', async () => {
    const file = await fetch(`${h.url}/cli/hiy`);
    assert.equal(file.status, 200);
    const body = Buffer.from(await file.arrayBuffer());
    const sum = await (await fetch(`${h.url}/cli/hiy.sha256`)).text();
    assert.equal(sum, `${createHash('sha256').update(body).digest('hex')}  hiy\n`, 'sha256sum -c format, matching the file');
    assert.ok(body.subarray(0, 20).toString().startsWith('#!/usr/bin/env node\n'));
    mkdirSync(join(laptop, 'bin'));
    cliFile = join(laptop, 'bin', 'hiy');
    writeFileSync(cliFile, body);
    chmodSync(cliFile, 0o755);
    for (let d = dirname(cliFile); d !== '/'; d = dirname(d)) assert.ok(!existsSync(join(d, 'node_modules')), `no node_modules in ${d}`);
    assert.ok(body.length < 1_000_000, `one small file (${body.length} bytes)`);
  });

  it('reports its version and the server\'s', async () => {
    const out = await ok(['--version']);
    assert.match(out, /^hiy 0\.1\.0 \(API 1\)\nserver http:\/\/127\.0\.0\.1:\d+: hiy 0\.1\.0 \(API 1\)\n$/);
    assert.equal(await ok(['version']), out);
  });

  it('takes the app from the hiy remote of the current repository', async () => {
    assert.match(await ok(['info']), new RegExp(`^name\\s+${APP}$`, 'm'));
    assert.match(await ok(['releases']), /^\*\s+v1\s/m);
    const logs = await hiy(['logs', '-n', '5']);
    assert.equal(logs.code, 0, logs.stderr);
    // A subfolder of the clone works too, as with git.
    mkdirSync(join(wc.dir, 'sub'), { recursive: true });
    assert.match(await ok(['info'], { cwd: join(wc.dir, 'sub') }), new RegExp(`^name\\s+${APP}$`, 'm'));
    // Several KEY=value, the first not an app name, and -a for another app.
    assert.match(await ok(['env:set', 'GREETING=hi', 'DEBUG=0', '--no-restart']), new RegExp(`^Set GREETING, DEBUG on ${APP}\\.`));
    const masked = await hiy(['config:get', 'GREETING']);
    assert.equal(masked.stdout, '****\n');
    assert.match(masked.stderr, /GREETING is masked; add --reveal/);
    assert.equal(await ok(['config:get', 'GREETING', '--reveal']), 'hi\n');
    const other = await hiy(['info', '-a', 'nope-app']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /app "nope-app" not found/);
  });

  it('deploys and rolls back, following the build over the live stream', async () => {
    const deployed = await ok(['deploy']);
    assert.match(deployed, /^Deploy queued as deploy #\d+\n/);
    assert.match(deployed, /Released v2|v2/);
    assert.match(await ok(['releases']), /^\*\s+v2\s/m);
    const rolled = await ok(['rollback', 'v1']);
    assert.match(rolled, /^Rollback queued as deploy #\d+\n/);
    // A rollback is a new release (v3) of v1's image, as on Heroku.
    const releases = JSON.parse(await ok(['releases', '--json'])) as { releases: { version: number; image: string; current: boolean }[] };
    const current = releases.releases.find((r) => r.current);
    assert.equal(current?.version, 3);
    assert.equal(current?.image, releases.releases.find((r) => r.version === 1)?.image);
  });

  it('says what to do where it cannot know the app, and has no server in it', async () => {
    const outside = await hiy(['logs'], { cwd: laptop });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /missing <app>: pass it, or -a <app>, or run this in a repository with a "hiy" git remote/);
    const server = await hiy(['server']);
    assert.equal(server.code, 1);
    assert.match(server.stderr, /this is the laptop CLI/);
    assert.match(await ok(['server', '--help']), /^Usage: hiy server \[--env-file FILE\]/);
    const backup = await hiy(['backup']);
    assert.equal(backup.code, 2, 'backup runs on the box only');
  });

  it('refuses a server that speaks another API version', async () => {
    const other: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-hiy-api-version': '99' });
      res.end('{"apps":[]}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const port = (other.address() as { port: number }).port;
      const r = await hiy(['apps'], { env: { HIY_URL: `http://127.0.0.1:${port}` } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /speaks API version 99, this hiy CLI version 1: get the matching CLI from http:\/\/127\.0\.0\.1:\d+\/cli\/hiy/);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
