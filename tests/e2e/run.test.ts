/**
 * `hiy run` end to end, as a user types it: a real hiy (its own process), a real `git push`, the
 * real engine, the real CLI, and for interactive sessions a real terminal (tmux from Debian). It
 * proves the "done when": output and exit codes (0, 3, 137), piped stdin, an interactive
 * `sh` with a TTY (typed input, resize seen by `stty size`, Ctrl-C interrupts the foreground
 * program and not the session, the terminal restored), a revoked token ending an open session
 * within 15 s, and no container left after any kind of exit, the client's kill -9 included.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { waitFor as until } from '../helpers/observe.js';

const APP = `run-${randomBytes(3).toString('hex')}`;
const EMPTY = `run-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('hiy run', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;
  const tmux = `hiy-test-${randomBytes(4).toString('hex')}`;
  const scratch = mkdtempSync(join(tmpdir(), 'hiy-run-test-'));

  const cliEnv = (token = hiy.token) => ({ PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: token });
  /** `hiy <args>` with stdin from `input` (a pipe, never a terminal). */
  const cli = (args: string[], opts: { input?: string; token?: string } = {}) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [hiyEntry(), ...args], { env: cliEnv(opts.token), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.end(opts.input ?? '');
  });
  const containers = async () => (await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`, '--filter', 'label=hiy.run'])).stdout.trim().split('\n').filter(Boolean);
  const runs = async () => (await api('GET', `/apps/${APP}/runs?limit=100`)).body.runs as { id: number; status: string; command: string; reason: string | null; exit_code: number | null; by: string; mode: string; kind: string }[];
  /** A CLI left running: `hiy run … -- sleep 300` with its stdin held open. */
  const startSleeper = (token = hiy.token, extra: string[] = []): ChildProcess => spawn(process.execPath, [hiyEntry(), 'run', APP, ...extra, '--', 'sleep', '300'], { env: cliEnv(token), stdio: ['pipe', 'pipe', 'pipe'] });

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    // A small disk budget checked every 2 s: a one-off that writes past it is ended (last test).
    hiy = await startHiy({ env: { HIY_RUN_LIMIT: '2', HIY_APP_DISK_MB: '64', HIY_DISK_CHECK_INTERVAL: '2' } });
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080, memory_mb: 96 })).status, 201);
    assert.equal((await api('POST', '/apps', { name: EMPTY, port: 8080 })).status, 201);
    assert.equal((await api('PATCH', `/apps/${APP}/env`, { vars: { GREETING: 'hello from env' }, restart: false })).status, 200);
    const pushed = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(pushed.code, 0, pushed.stderr);
  });

  after(async () => {
    await run('tmux', ['-L', tmux, 'kill-server']);
    await hiy?.stop();
    wc?.remove();
    rmSync(scratch, { recursive: true, force: true });
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('prints the output, keeps stdout and stderr apart, and returns the exit code (0, 3, 137)', async () => {
    const three = await cli(['run', APP, '--', 'sh', '-c', 'echo "$GREETING"; echo oops >&2; exit 3']);
    assert.equal(three.code, 3, three.stderr);
    assert.equal(three.stdout, 'hello from env\n');
    assert.equal(three.stderr, 'oops\n');
    const zero = await cli(['run', APP, 'true']);
    assert.equal(zero.code, 0, zero.stderr);
    const killed = await cli(['run', APP, '--', 'sh', '-c', 'kill -KILL $$']);
    assert.equal(killed.code, 137, killed.stderr);
    // Without "--" the command's own flags stay its own; one argument with spaces runs through sh.
    assert.equal((await cli(['run', APP, 'ls', '-d', '/www'])).stdout, '/www\n');
    assert.equal((await cli(['run', APP, 'echo $GREETING | tr a-z A-Z'])).stdout, 'HELLO FROM ENV\n');
    assert.deepEqual(await containers(), [], 'every one-off container is gone');
  });

  test('takes piped stdin to the end of file', async () => {
    const input = Array.from({ length: 2000 }, (_, i) => `line ${i} of a longer input\n`).join('');
    const r = await cli(['run', APP, '--', 'sh', '-c', 'tr a-z A-Z | tail -n 1; wc -l'], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'LINE 1999 OF A LONGER INPUT\n0\n');
    const counted = await cli(['run', APP, '--', 'wc', '-l'], { input });
    assert.equal(counted.stdout.trim(), '2000');
  });

  test('runs with the app\'s limits, network and hardening, and is audited', async () => {
    const p = startSleeper();
    try {
      const [id] = await until('the run container', async () => { const c = await containers(); return c.length ? c : undefined; });
      const info = JSON.parse((await docker(['inspect', id!])).stdout)[0];
      assert.equal(info.HostConfig.Memory, 96 * 1024 * 1024, 'the app\'s memory limit');
      assert.equal(info.HostConfig.NetworkMode, `hiy-${APP}`);
      assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
      assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges']);
      assert.equal(info.HostConfig.RestartPolicy.Name, 'no');
      assert.deepEqual(info.HostConfig.PortBindings ?? {}, {});
      assert.ok((info.Config.Env as string[]).includes('GREETING=hello from env'));
      const ps = (await api('GET', `/apps/${APP}/ps`)).body;
      assert.ok(ps.processes.every((x: { type: string }) => x.type === 'web'), 'hiy ps lists the formation only');
    } finally {
      p.kill('SIGINT');
    }
    await until('the container to go after Ctrl-C', async () => (await containers()).length === 0);
    const list = await cli(['runs', APP]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ID\s+KIND\s+BY\s+COMMAND/);
    assert.match(list.stdout, /run\s+token admin \(HIY_ADMIN_TOKEN\)\s+sh -c 'echo "\$GREETING"; echo oops >&2; exit 3'.*exit 3/);
    const rows = await runs();
    assert.ok(rows.every((r) => r.status !== 'running'), JSON.stringify(rows));
    assert.ok(rows.some((r) => r.exit_code === 137 && r.command === "sh -c 'kill -KILL $$'"));
  });

  test('an interactive sh with a terminal: typed input, resize seen by stty size, Ctrl-C interrupts the program, not the session; the terminal is restored', async () => {
    const script = join(scratch, 'session.sh');
    writeFileSync(script, [
      `stty -g > ${join(scratch, 'stty-before')}`,
      `"${process.execPath}" "${hiyEntry()}" run ${APP} sh`,
      `echo "EXIT:$?"`,
      `stty -g > ${join(scratch, 'stty-after')}`,
      'sleep 300',
      '',
    ].join('\n'));
    const env = Object.entries(cliEnv()).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const started = await run('tmux', ['-L', tmux, 'new-session', '-d', '-s', 'run', '-x', '80', '-y', '24', ...env, 'sh', script]);
    assert.equal(started.code, 0, started.stderr);
    try {
      await interactive();
    } finally {
      await run('tmux', ['-L', tmux, 'kill-server']);
    }
    await until('the container to go', async () => (await containers()).length === 0);
    const session = (await runs()).find((r) => r.command === 'sh');
    assert.equal(session?.mode, 'tty');
    assert.equal(session?.exit_code, 0);
  });

  async function interactive(): Promise<void> {
    const screen = async () => (await run('tmux', ['-L', tmux, 'capture-pane', '-p', '-t', 'run'])).stdout;
    const keys = (...k: string[]) => run('tmux', ['-L', tmux, 'send-keys', '-t', 'run', ...k]);
    // capture-pane drops the prompt's trailing space.
    await until('the remote shell prompt', async () => /^\/ #$/m.test(await screen()));
    await keys('echo typed-$((6*7))', 'Enter');
    await until('typed input answered', async () => (await screen()).includes('typed-42'));
    await keys('stty size', 'Enter');
    await until('the size of the terminal', async () => /^24 80\s*$/m.test(await screen()));
    assert.equal((await run('tmux', ['-L', tmux, 'resize-window', '-t', 'run', '-x', '100', '-y', '30'])).code, 0);
    await keys('clear', 'Enter');
    await sleep(300);
    await keys('stty size', 'Enter');
    await until('the new size after a resize', async () => /^30 100\s*$/m.test(await screen()));
    await keys('sleep 200; echo not-interrupted', 'Enter');
    await sleep(800);
    await keys('C-c');
    await keys('echo "alive after ^C: $?"', 'Enter');
    await until('the shell still there after Ctrl-C', async () => (await screen()).includes('alive after ^C: 130'));
    assert.doesNotMatch(await screen(), /^not-interrupted$/m, 'the interrupted command line did not go on');
    assert.equal((await containers()).length, 1, 'the session\'s container runs');
    await keys('C-d');
    await until('hiy run to end with the shell', async () => (await screen()).includes('EXIT:0'));
    await until('the stty of after', async () => { try { return readFileSync(join(scratch, 'stty-after'), 'utf8'); } catch { return undefined; } });
    assert.equal(readFileSync(join(scratch, 'stty-after'), 'utf8'), readFileSync(join(scratch, 'stty-before'), 'utf8'), 'the terminal\'s settings are restored');
  }

  test('the container is gone when the client vanishes (kill -9 of the CLI) and when it is interrupted', async () => {
    const p = startSleeper();
    await until('the run container', async () => (await containers()).length === 1);
    p.kill('SIGKILL');
    const t0 = Date.now();
    await until('the container to go after kill -9 of the CLI', async () => (await containers()).length === 0, 15_000);
    console.log(`# container removed ${Date.now() - t0} ms after kill -9 of hiy run`);
    const rec = (await runs()).find((r) => r.command === 'sleep 300' && r.reason === 'the client went away');
    assert.ok(rec, JSON.stringify(await runs()));
    assert.equal(rec.exit_code, 137);

    const q = startSleeper();
    await until('the run container', async () => (await containers()).length === 1);
    const code = new Promise<number | null>((r) => q.once('close', r));
    q.kill('SIGINT');
    assert.equal(await code, 130, 'hiy run ends like a program killed by SIGINT');
    await until('the container to go after Ctrl-C', async () => (await containers()).length === 0, 15_000);
  });

  test('a revoked token ends an open session within 15 s', async () => {
    const made = await api('POST', '/tokens', { name: 'run-revoke' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const p = startSleeper(made.body.value);
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const closed = new Promise<number | null>((r) => p.once('close', r));
    await until('the run container', async () => (await containers()).length === 1);
    assert.equal((await api('DELETE', `/tokens/${made.body.token.id}`)).status, 200);
    const t0 = Date.now();
    const code = await Promise.race([closed, sleep(20_000).then(() => 'still running' as const)]);
    const took = Date.now() - t0;
    console.log(`# session ended ${took} ms after its token was revoked`);
    p.kill('SIGKILL');
    assert.notEqual(code, 'still running');
    assert.ok(took < 15_000, `took ${took} ms`);
    assert.match(stderr, /the API token was revoked/);
    await until('the container to go', async () => (await containers()).length === 0, 10_000);
    const rec = (await runs()).find((r) => r.by === 'token run-revoke');
    assert.equal(rec?.reason, 'the API token was revoked');
  });

  test('a clear error without a release, at the cap, and past the wall-clock limit', async () => {
    const none = await cli(['run', EMPTY, 'true']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`hiy: ${EMPTY} has no release yet: deploy it first`));
    const a = startSleeper();
    const b = startSleeper();
    try {
      await until('two run containers', async () => (await containers()).length === 2);
      const third = await cli(['run', APP, 'true']);
      assert.equal(third.code, 1);
      assert.match(third.stderr, /already runs 2 one-off containers \(at most 2 at once: HIY_RUN_LIMIT\)/);
    } finally {
      a.kill('SIGINT');
      b.kill('SIGINT');
    }
    await until('the sleepers to go', async () => (await containers()).length === 0, 15_000);
    const limited = await cli(['run', APP, '--timeout', '2', '--', 'sleep', '30']);
    assert.equal(limited.code, 137);
    assert.match(limited.stderr, /stopped after 2 s \(the wall-clock limit\)/);
    const usage = await cli(['run', APP]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /no command given/);
  });

  test('--detach runs in the background; hiy runs <app> <id> shows how it ended and its output, redacted', async () => {
    const r = await cli(['run', APP, '--detach', '--json', '--', 'sh', '-c', 'echo "detached says $GREETING"; exit 4']);
    assert.equal(r.code, 0, r.stderr);
    const id = JSON.parse(r.stdout).run.id as number;
    const done = await until('the detached run to end', async () => {
      const one = (await api('GET', `/apps/${APP}/runs/${id}`)).body.run;
      return one.status !== 'running' ? one : undefined;
    });
    assert.equal(done.exit_code, 4);
    assert.equal(done.mode, 'detached');
    assert.equal(done.output, 'detached says [redacted]\n', 'env values never reach the stored output');
    const shown = await cli(['runs', APP, String(id)]);
    assert.match(shown.stdout, new RegExp(`run #${id} of ${APP} \\(run, detached\\) by token admin`));
    assert.match(shown.stdout, /exit 4/);
    assert.match(shown.stdout, /\| detached says \[redacted\]/);
    assert.deepEqual(await containers(), []);
  });
  test('a one-off that writes past the app\'s disk budget is ended; the app\'s own containers are not restarted', async () => {
    const webBefore = ((await api('GET', `/apps/${APP}/ps`)).body.processes as { container: string }[]).map((x) => x.container);
    const deploysBefore = (await api('GET', `/apps/${APP}/deploys?limit=50`)).body.deploys.length as number;
    const r = await cli(['run', APP, '--detach', '--json', '--', 'sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>/dev/null; echo written; sleep 120']);
    assert.equal(r.code, 0, r.stderr);
    const id = JSON.parse(r.stdout).run.id as number;
    const done = await until('the run to be ended by the disk guard', async () => {
      const one = (await api('GET', `/apps/${APP}/runs/${id}`)).body.run;
      return one.status !== 'running' ? one : undefined;
    }, 60_000);
    assert.equal(done.exit_code, 137, JSON.stringify(done));
    assert.match(done.reason, /^stopped: the app's containers wrote \d+ MB to their file systems, more than HIY_APP_DISK_MB \(64 MB\)$/);
    assert.equal(done.output, 'written\n');
    await sleep(5000);
    assert.equal((await api('GET', `/apps/${APP}/deploys?limit=50`)).body.deploys.length, deploysBefore, 'no restart of the app');
    assert.deepEqual(((await api('GET', `/apps/${APP}/ps`)).body.processes as { container: string }[]).map((x) => x.container), webBefore);
    assert.deepEqual(await containers(), []);
  });
});
