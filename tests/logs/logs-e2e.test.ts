import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, removeDataDir, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { collectSse, sleep, waitFor } from '../helpers/observe.js';

const APP = `logs-${randomBytes(3).toString('hex')}`;
// A counter on stdout every 200 ms (every fifth also on stderr) next to the web server.
const dockerfile = (tag: string) => 'FROM hiy-test/busybox:1\nCOPY www /www\n'
  + `CMD ["sh", "-c", "(i=0; while :; do echo \\"${tag} tick $i\\"; [ $((i % 5)) = 0 ] && echo \\"${tag} err $i\\" >&2; i=$((i+1)); sleep 0.2; done) & exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n`;

interface Line { id: number; time: string; stream: string; process: string; release: number | null; text: string }

/** The counter values of one tag's stdout ticks, in stored order. */
const ticks = (lines: Line[], tag: string) => lines.filter((l) => l.stream === 'stdout' && l.text.startsWith(`${tag} tick `)).map((l) => Number(l.text.split(' ')[2]));

function cli(h: HiyProcess, args: string[], opts: { untilLines?: number; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [hiyEntry(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: h.dataDir, HIY_URL: h.url, HIY_TOKEN: h.token }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGTERM'), opts.timeoutMs ?? 30_000);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.untilLines && stdout.split('\n').length > opts.untilLines) p.kill('SIGTERM');
    });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

describe('app logs end to end: git push, redeploy, hiy restart, CLI and SSE', { timeout: 180_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  const api = () => apiClient(hiy);
  const allLines = async () => (await api()('GET', `/apps/${APP}/logs?lines=10000`)).body.lines as Line[];

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    // Slot ports below the ephemeral range (32768+), where random listening ports of other processes live.
    hiy = await startHiy({ keepDataDir: true, env: { HIY_SLOT_PORT_BASE: String(22000 + Math.floor(Math.random() * 100) * 100) } });
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    wc.write('Dockerfile', dockerfile('one'));
    await wc.commit('v1');
    assert.equal((await api()('POST', '/apps', { name: APP, port: 8080, health_timeout_s: 20, drain_s: 1 })).status, 201);
    const pushed = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(pushed.code, 0, pushed.stderr);
  });

  after(async () => {
    await hiy?.stop();
    if (hiy) await removeDataDir(hiy.dataDir);
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('lines the app writes appear in hiy logs, with process type, release and stream', async () => {
    await waitFor('ticks in the log', async () => ticks(await allLines(), 'one').length >= 5);
    const r = await cli(hiy, ['logs', APP, '-n', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z web\[v1\]: one tick \d+$/m);
    const err = (await allLines()).find((l) => l.text.startsWith('one err'));
    assert.equal(err?.stream, 'stderr');
    const worker = await cli(hiy, ['logs', APP, '--ps', 'worker']);
    assert.match(worker.stdout, /has no output yet/);
  });

  test('the SSE tail gets new lines live, and resumes after Last-Event-ID', async () => {
    const events = await collectSse(`${hiy.url}/api/v1/apps/${APP}/logs/stream?lines=0`, hiy.token, { until: (e) => e.length >= 5, timeoutMs: 20_000 });
    assert.ok(events.length >= 5, `got ${events.length} live lines`);
    const delays = events.map((e) => e.at - Date.parse((JSON.parse(e.data) as Line).time));
    process.stdout.write(`# SSE delay from the container's write to the client (ms): ${delays.join(', ')}\n`);
    const ids = events.map((e) => Number(e.id));
    const resumed = await collectSse(`${hiy.url}/api/v1/apps/${APP}/logs/stream`, hiy.token, { headers: { 'last-event-id': String(ids[1]) }, until: (e) => e.length >= 3 });
    assert.deepEqual(resumed.slice(0, 3).map((e) => Number(e.id)), [ids[1]! + 1, ids[1]! + 2, ids[1]! + 3]);
    const followed = await cli(hiy, ['logs', APP, '-f', '-n', '2'], { untilLines: 4 });
    assert.match(followed.stdout, /web\[v1\]: one (tick|err) \d+\n.*web\[v1\]: one (tick|err) \d+\n/);
  });

  test('a build log streams live over SSE and ends with the status; logs from before the redeploy stay', async () => {
    wc.write('Dockerfile', dockerfile('two'));
    await wc.commit('v2');
    const pushing = wc.push(remoteUrl(hiy.url, APP, hiy.token));
    const id = await waitFor('the second deploy', async () => {
      const d = (await api()('GET', `/apps/${APP}/deploys?limit=1`)).body.deploys[0];
      return d && d.id !== 1 && (d.status === 'queued' || d.status === 'building') ? d.id as number : undefined;
    }, 30_000, 50);
    const events = await collectSse(`${hiy.url}/api/v1/apps/${APP}/deploys/${id}/log/stream`, hiy.token, { until: (e) => e.some((x) => x.event === 'end'), timeoutMs: 120_000 });
    const pushed = await pushing;
    assert.equal(pushed.code, 0, pushed.stderr);
    const end = events.at(-1)!;
    assert.equal(end.event, 'end');
    assert.deepEqual(JSON.parse(end.data), { status: 'success', error: null });
    const text = events.filter((e) => e.event === 'message').map((e) => e.data);
    assert.ok(text.some((l) => l.startsWith('-----> Building')), text.join('\n'));
    assert.ok(text.some((l) => /-----> Released v2/.test(l)));
    assert.deepEqual(events.filter((e) => e.event === 'message').map((e) => Number(e.id)), text.map((_, i) => i + 1));
    const stored = await cli(hiy, ['deploys:log', APP, String(id)]);
    assert.equal(stored.stdout.trimEnd(), text.join('\n'));
    const followedDone = await cli(hiy, ['deploys:log', APP, String(id), '-f']);
    assert.equal(followedDone.code, 0, followedDone.stderr);

    await waitFor('ticks of the second release', async () => ticks(await allLines(), 'two').length >= 3);
    const lines = await allLines();
    assert.ok(ticks(lines, 'one').length >= 5, 'lines of the first release are still there');
    assert.ok(lines.filter((l) => l.text.startsWith('one ')).every((l) => l.release === 1));
    assert.ok(lines.filter((l) => l.text.startsWith('two ')).every((l) => l.release === 2));
  });

  test('a hiy restart keeps the history and loses or repeats no line written meanwhile', async () => {
    const env = hiy.env;
    const dataDir = hiy.dataDir;
    await hiy.stop();
    await sleep(3000); // the app keeps writing while hiy is down
    hiy = await startHiy({ dataDir, keepDataDir: true, env });
    const before = ticks(await allLines(), 'two');
    await waitFor('new ticks after the restart', async () => ticks(await allLines(), 'two').length >= before.length + 5);
    const lines = await allLines();
    const two = ticks(lines, 'two');
    const first = two[0]!;
    const containers = [...new Set(lines.filter((l) => l.text.startsWith('two ')).map((l) => (l as Line & { container: string }).container))];
    assert.equal(containers.length, 1, `release 2 ran in one container, not ${containers.join(', ')}\n${hiy.output().slice(-3000)}`);
    assert.deepEqual(two, Array.from({ length: two.length }, (_, i) => first + i), 'every tick of release 2 exactly once, in order');
    assert.ok(ticks(lines, 'one').length >= 5, 'release 1 lines survived the restart');
    const ids = lines.map((l) => l.id);
    assert.equal(new Set(ids).size, ids.length);
  });
});
