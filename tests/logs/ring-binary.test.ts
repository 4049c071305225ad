import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { cleanupByLabel, ensureDocker, testRun } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { collectSse, runRelease, waitFor } from '../helpers/observe.js';
import { MAX_LINE_BYTES } from '../../src/runtime/log-lines.js';

const RING = 200;
const suffix = randomBytes(3).toString('hex');
const CHATTY = `ring-${suffix}`;
const BINARY = `bin-${suffix}`;

describe('log ring buffer, long lines and binary output (real containers)', { timeout: 180_000 }, () => {
  const run = testRun();
  let h: InProcessHiy;
  let api: ReturnType<typeof apiClient>;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    h = await startInProcess({ env: { HIY_LOG_LINES: String(RING) } });
    api = apiClient(h);
    for (const name of [CHATTY, BINARY]) assert.equal((await api('POST', '/apps', { name })).status, 201);
  });

  after(async () => {
    await h?.stop();
    await cleanupByLabel(run.label);
    // The apps' networks carry hiy's labels, not the run's.
    for (const app of [CHATTY, BINARY]) await cleanupByLabel(`hiy.app=${app}`);
  });

  test(`keeps exactly the last ${RING} lines of an app that wrote 500`, async () => {
    await runRelease(h, run, CHATTY, ['sh', '-c', 'i=0; while [ $i -lt 500 ]; do echo "n=$i"; i=$((i+1)); done; exec sleep 3600']);
    const lines = await waitFor('the 500th line', async () => {
      const r = await api('GET', `/apps/${CHATTY}/logs?lines=${RING}`);
      return r.body.lines?.at(-1)?.text === 'n=499' ? r.body.lines as { id: number; text: string; release: number; process: string; stream: string }[] : undefined;
    });
    assert.equal(lines.length, RING);
    assert.deepEqual(lines.map((l) => l.text), Array.from({ length: RING }, (_, i) => `n=${500 - RING + i}`));
    assert.equal(lines[0]!.release, 1);
    assert.equal(lines[0]!.process, 'web');
    assert.equal(lines[0]!.stream, 'stdout');
    await h.running.services.observability.logs.flush(); // reads include lines not written yet
    const stored = await h.running.services.db.selectFrom('app_logs').select((eb) => eb.fn.countAll().as('n')).where('app', '=', CHATTY).executeTakeFirst();
    assert.equal(Number(stored?.n), RING, 'the table holds exactly the bound');
    const tooMany = await api('GET', `/apps/${CHATTY}/logs?lines=${RING + 1}`);
    assert.equal(tooMany.status, 400);
  });

  test('a 1 MB single line and binary output are stored safely and the API and SSE still work', async () => {
    await runRelease(h, run, BINARY, ['sh', '-c',
      'echo before; head -c 1048576 /dev/zero | tr "\\0" x; echo; head -c 4096 /dev/urandom; echo; printf "\\033[31mred\\033[0m\\n"; echo after-binary >&2; exec sleep 3600']);
    const lines = await waitFor('the line after the binary output', async () => {
      const r = await api('GET', `/apps/${BINARY}/logs?lines=${RING}`);
      const got = r.body.lines as { text: string; stream: string }[] | undefined;
      return got?.some((l) => l.text === 'after-binary') && got.some((l) => l.text.includes('red')) ? got : undefined;
    }, 60_000);
    assert.equal(lines[0]!.text, 'before');
    // stdout and stderr are separate pipes in the engine: only lines of one stream keep their order.
    const long = lines.filter((l) => l.text.startsWith('xxxx'));
    assert.equal(long.length, 1, 'the 1 MB line is one line');
    assert.ok(long[0]!.text === `${'x'.repeat(MAX_LINE_BYTES)} […line cut: ${1048576 - MAX_LINE_BYTES} more bytes]`, `cut with a marker: …${long[0]!.text.slice(-60)}`);
    for (const l of lines) {
      assert.ok(Buffer.byteLength(l.text) < MAX_LINE_BYTES * 3 + 100, 'every stored line is bounded');
      assert.doesNotMatch(l.text, /[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]/, 'no control characters but tab and ESC');
    }
    assert.ok(lines.some((l) => l.text === '\x1b[31mred\x1b[0m'), 'colours survive');
    assert.equal(lines.find((l) => l.text === 'after-binary')!.stream, 'stderr');

    const events = await collectSse(`${h.url}/api/v1/apps/${BINARY}/logs/stream?lines=${RING}`, h.token, { until: (e) => e.length >= lines.length });
    const parsed = events.map((e) => JSON.parse(e.data) as { id: number; text: string });
    assert.deepEqual(parsed.map((p) => p.text), lines.map((l) => l.text), 'SSE sends the same lines');
    assert.deepEqual(events.map((e) => Number(e.id)), parsed.map((p) => p.id), 'each event carries the line id');
  });
});
