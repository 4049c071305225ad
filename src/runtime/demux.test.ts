import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { demuxFrames, demuxToText } from './demux.js';

function frame(type: number, text: string): Buffer {
  const data = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

describe('demux', () => {
  test('stdout and stderr frames come back interleaved in order, headers removed', () => {
    const buf = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    assert.deepEqual(demuxFrames(buf).map((f) => f.stream), ['stdout', 'stderr', 'stdout']);
    assert.equal(demuxToText(buf), 'out 1\nerr 1\nout 2\n');
  });

  test('a payload longer than one read and a multi-byte character survive', () => {
    const long = 'é'.repeat(40_000);
    assert.equal(demuxToText(Buffer.concat([frame(1, long), frame(2, '!')])), `${long}!`);
  });

  test('raw output (a TTY container) is returned as it is', () => {
    assert.equal(demuxToText(Buffer.from('hello from a tty\n')), 'hello from a tty\n');
  });

  test('a cut final frame keeps what arrived; empty input is empty', () => {
    const cut = frame(1, 'complete line\n').subarray(0, 12);
    assert.equal(demuxToText(Buffer.concat([frame(2, 'a\n'), cut])), 'a\ncomp');
    assert.equal(demuxToText(Buffer.alloc(0)), '');
  });
});
