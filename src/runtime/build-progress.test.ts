import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildProgress } from './build-progress.js';

function run(chunks: string[]): { lines: string[]; outcome: ReturnType<BuildProgress['end']> } {
  const lines: string[] = [];
  const p = new BuildProgress((l) => lines.push(l));
  for (const c of chunks) p.push(c);
  return { lines, outcome: p.end() };
}

const msg = (o: object) => `${JSON.stringify(o)}\r\n`;

describe('BuildProgress', () => {
  test('stream texts become lines, even when JSON messages and lines are cut anywhere', () => {
    const all = msg({ stream: 'Step 1/2 : FROM x\n' }) + msg({ stream: ' ---> abc\nStep 2/2 : RUN ma' }) + msg({ stream: 'ke\n' }) + msg({ aux: { ID: 'sha256:feed' } }) + msg({ stream: 'Successfully built feed\n' });
    for (let size = 1; size < all.length; size += 7) {
      const chunks: string[] = [];
      for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size));
      const { lines, outcome } = run(chunks);
      assert.deepEqual(lines, ['Step 1/2 : FROM x', ' ---> abc', 'Step 2/2 : RUN make', 'Successfully built feed']);
      assert.equal(outcome.imageId, 'sha256:feed');
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.lastStep, 'Step 2/2 : RUN make');
    }
  });

  test('an error event is the failure, although the stream ended normally', () => {
    const { outcome } = run([msg({ stream: 'Step 3/3 : RUN false\n' }), msg({ errorDetail: { code: 1, message: "The command '/bin/sh -c false' returned a non-zero code: 1" }, error: "The command '/bin/sh -c false' returned a non-zero code: 1" })]);
    assert.match(outcome.error ?? '', /non-zero code: 1/);
    assert.equal(outcome.lastStep, 'Step 3/3 : RUN false');
    assert.equal(outcome.imageId, undefined);
  });

  test('status lines are compact: progress bar updates are skipped', () => {
    const { lines } = run([
      msg({ status: 'Pulling from library/node', id: '22' }),
      msg({ status: 'Downloading', id: 'a1', progressDetail: { current: 10, total: 100 }, progress: '[=>   ]' }),
      msg({ status: 'Download complete', id: 'a1', progressDetail: {} }),
    ]);
    assert.deepEqual(lines, ['22: Pulling from library/node', 'a1: Download complete']);
  });

  test('colour codes and carriage-return redraws are removed; blank lines dropped; a last line without newline kept', () => {
    const { lines, outcome } = run([msg({ stream: '\u001b[91merr\n\u001b[0mhello\n\n' }), msg({ stream: '10%\r50%\r100%\n' }), '{"stream":"tail without newline"}']);
    assert.deepEqual(lines, ['err', 'hello', '100%', 'tail without newline']);
    assert.equal(outcome.imageId, undefined);
  });

  test('a line that is not JSON is passed on', () => {
    assert.deepEqual(run(['plain text\n']).lines, ['plain text']);
  });
});
