import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildkitProgress, encodeStatus, type Status } from './buildkit-progress.js';

const ts = { seconds: 1, nanos: 0 };
const trace = (s: Partial<Status>) => `${JSON.stringify({ id: 'moby.buildkit.trace', aux: encodeStatus({ vertexes: [], logs: [], ...s }) })}\n`;
const log = (vertex: string, text: string) => ({ vertex, msg: Buffer.from(text) });

function run(chunks: string[]) {
  const lines: string[] = [];
  const p = new BuildkitProgress((l) => lines.push(l));
  for (const c of chunks) p.push(c);
  return { lines, outcome: p.end() };
}

describe('BuildkitProgress', () => {
  test('steps, their output (cut anywhere), cached steps and the image id', () => {
    const { lines, outcome } = run([
      trace({ vertexes: [{ digest: 'i', name: '[internal] load build definition from Dockerfile', started: ts, completed: ts }] }),
      trace({ vertexes: [{ digest: 'a', name: '[deps 1/3] FROM docker.io/library/node:22', cached: true, started: ts, completed: ts }] }),
      trace({ vertexes: [{ digest: 'b', name: '[deps 3/3] RUN npm ci', started: ts }] }),
      trace({ logs: [log('b', 'npm http fetch GET 200 https://r/ms.tgz 5ms (cache miss)\nadded 1 pack')] }),
      trace({ logs: [log('b', 'age in 1s')] }),
      trace({ vertexes: [{ digest: 'b', started: ts, completed: ts }] }),
      `${JSON.stringify({ id: 'moby.image.id', aux: { ID: 'sha256:feed' } })}\n`,
      `${JSON.stringify({ stream: 'Successfully tagged hiy/a:b\n' })}\n`,
    ]);
    assert.deepEqual(lines, [
      'CACHED [deps 1/3] FROM docker.io/library/node:22',
      '[deps 3/3] RUN npm ci',
      'npm http fetch GET 200 https://r/ms.tgz 5ms (cache miss)',
      'added 1 package in 1s',
      'Successfully tagged hiy/a:b',
    ]);
    assert.equal(outcome.imageId, 'sha256:feed');
    assert.equal(outcome.error, undefined);
  });

  test('a failed step is named and the engine\'s error is the failure', () => {
    const { lines, outcome } = run([
      trace({ vertexes: [{ digest: 'b', name: '[stage-0 2/2] RUN false', started: ts }] }),
      trace({ vertexes: [{ digest: 'b', started: ts, completed: ts, error: 'exit code: 1' }] }),
      `${JSON.stringify({ errorDetail: { message: 'executor failed running [/bin/sh -c false]: exit code: 1' }, error: 'executor failed running [/bin/sh -c false]: exit code: 1' })}\n`,
    ]);
    assert.deepEqual(lines, ['[stage-0 2/2] RUN false', '[stage-0 2/2] RUN false failed: exit code: 1']);
    assert.equal(outcome.lastStep, '[stage-0 2/2] RUN false');
    assert.match(outcome.error ?? '', /exit code: 1/);
  });

  test('a status that is not protobuf costs output, not the build', () => {
    const { lines, outcome } = run([`${JSON.stringify({ id: 'moby.buildkit.trace', aux: 'bm90IHByb3RvYnVm' })}\n`, `${JSON.stringify({ id: 'moby.image.id', aux: { ID: 'sha256:1' } })}\n`]);
    assert.deepEqual(lines, []);
    assert.equal(outcome.imageId, 'sha256:1');
  });
});
