/**
 * Attached programs against the real engine: one-off containers (runAttached: hiy run, the
 * console) and a command inside a running container (execAttached: an add-on's client), with and
 * without a TTY. What a person at a terminal relies on: input reaches the program, end of input is
 * end of file, the exit code comes back (137 when killed), a resize is seen, and nothing is left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/log.js';
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js';
import type { AttachedProcess, ContainerSpec, OutputChunk, Runtime } from '../../src/runtime/runtime.js';
import { cleanupByLabel, docker, ensureDocker, testRun } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';

const run = testRun();
const APP = `at-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spec(cmd: string[], over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name: `hiy-${APP}-run-${randomBytes(4).toString('hex')}`, image: BUSYBOX_IMAGE, app: APP, env: { GREETING: 'hello from env' },
    containerPort: 5000, memoryMb: 64, cpus: 0.5, cmd, process: 'run', run: 7, ...over,
  };
}

/** Collects the output by stream while it comes. */
function collect(p: AttachedProcess): { text(stream?: OutputChunk['stream']): string; done: Promise<void> } {
  const chunks: OutputChunk[] = [];
  const done = (async () => { for await (const c of p.output) chunks.push(c as OutputChunk); })();
  return {
    text: (stream) => Buffer.concat(chunks.filter((c) => !stream || c.stream === stream).map((c) => c.data)).toString('utf8'),
    done,
  };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const containersOfApp = async () => (await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`])).stdout.trim();

describe('attached programs on the real engine', { timeout: 120_000 }, () => {
  let rt: Runtime;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    rt = createDockerRuntime(createLogger('silent'), { labels: run.labels });
  });
  after(() => cleanupByLabel(run.label));

  test('without a TTY: piped input, end of file, stdout and stderr apart, the exit code; the container is removed', async () => {
    const p = await rt.runAttached(spec(['sh', '-c', 'echo "$GREETING"; cat | tr a-z A-Z; echo oops >&2; exit 3']), { tty: false });
    const out = collect(p);
    const labels = JSON.parse((await docker(['inspect', '--format', '{{json .Config.Labels}}', (await containersOfApp()).split('\n')[0]!])).stdout);
    assert.equal(labels['hiy.run'], '7', 'the container carries its run record');
    p.write(Buffer.from('piped '));
    p.write(Buffer.from('input\n'));
    p.endInput();
    assert.equal(await p.exited, 3);
    await out.done;
    assert.equal(out.text('stdout'), 'hello from env\nPIPED INPUT\n');
    assert.equal(out.text('stderr'), 'oops\n');
    assert.equal(await containersOfApp(), '', 'the container is gone once exited settles');
  });

  test('a program killed by a signal exits 137; kill() ends a running one with 137 too', async () => {
    const selfKilled = await rt.runAttached(spec(['sh', '-c', 'kill -KILL $$']), { tty: false });
    collect(selfKilled);
    assert.equal(await selfKilled.exited, 137);
    const sleeper = await rt.runAttached(spec(['sleep', '300']), { tty: false });
    collect(sleeper);
    const t0 = Date.now();
    await sleeper.kill();
    assert.equal(await sleeper.exited, 137);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(await containersOfApp(), '');
  });

  test('with a TTY: the size given at the start and after a resize, typed input, Ctrl-C interrupts the foreground program only', async () => {
    const p = await rt.runAttached(spec(['sh']), { tty: true, cols: 111, rows: 33 });
    const out = collect(p);
    p.write(Buffer.from('stty size\n'));
    await until('the first size', () => out.text().includes('33 111'));
    await p.resize(90, 20);
    p.write(Buffer.from('stty size\n'));
    await until('the new size', () => out.text().includes('20 90'));
    p.write(Buffer.from('sleep 100\n'));
    await sleep(500);
    p.write(Buffer.from([0x03]));
    p.write(Buffer.from('echo "still here $?"\n'));
    await until('the shell after Ctrl-C', () => out.text().includes('still here 130'));
    p.write(Buffer.from('exit 4\n'));
    assert.equal(await p.exited, 4);
    assert.equal(out.text('stderr'), '', 'a TTY has one stream');
    assert.equal(await containersOfApp(), '');
  });

  test('execAttached runs a command inside a running container, with a TTY and without', async () => {
    const name = `hiy-${APP}-svc-${randomBytes(3).toString('hex')}`;
    const svc = await rt.run({ ...spec(['sleep', '300']), name, run: undefined, process: 'addon' });
    try {
      const tty = await rt.execAttached(svc.id, ['sh', '-c', 'read line; stty size; echo "got $line $FROM"; exit 5'], { tty: true, cols: 70, rows: 11, env: { FROM: 'exec' } });
      const out = collect(tty);
      tty.write(Buffer.from('typed\n'));
      assert.equal(await tty.exited, 5);
      await out.done;
      assert.match(out.text(), /11 70\r\ngot typed exec/);
      const piped = await rt.execAttached(svc.id, ['wc', '-c'], { tty: false });
      const pout = collect(piped);
      piped.write(Buffer.from('12345'));
      piped.endInput();
      assert.equal(await piped.exited, 0);
      await pout.done;
      assert.equal(pout.text('stdout').trim(), '5');
      const hung = await rt.execAttached(svc.id, ['sleep', '301'], { tty: true });
      collect(hung);
      await hung.kill();
      assert.equal(await hung.exited, 137);
      const left = (await docker(['exec', svc.id, 'ps', '-o', 'pid,stat,args'])).stdout;
      assert.doesNotMatch(left, /sleep 301/, `the exec'd program is gone:\n${left}`);
    } finally {
      await rt.remove(svc.id);
    }
  });
});
