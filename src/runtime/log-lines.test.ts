import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogStreamParser, MAX_LINE_BYTES, normalizeTimestamp, sanitizeLine, timestampToSince, type ParsedLine } from './log-lines.js';

const TS = '2026-11-29T10:00:00.123456789Z';

function frame(stream: 1 | 2, payload: Buffer | string): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function parse(chunks: Buffer[], tty = false): ParsedLine[] {
  const out: ParsedLine[] = [];
  const p = new LogStreamParser(tty, (l) => out.push(l));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

describe('LogStreamParser', () => {
  it('splits frames into lines with their stream and timestamp', () => {
    const lines = parse([frame(1, `${TS} hello\n`), frame(2, '2026-11-29T10:00:01Z oops\n')]);
    assert.deepEqual(lines, [
      { ts: TS, stream: 'stdout', text: 'hello' },
      { ts: '2026-11-29T10:00:01.000000000Z', stream: 'stderr', text: 'oops' },
    ]);
  });

  it('reassembles frames cut anywhere by chunking, one byte at a time', () => {
    const all = Buffer.concat([frame(1, `${TS} one\n`), frame(1, `${TS} two\n`)]);
    const chunks = [...all].map((b) => Buffer.from([b]));
    assert.deepEqual(parse(chunks).map((l) => l.text), ['one', 'two']);
  });

  it('joins partial messages (no newline) into one line stamped with the first', () => {
    const lines = parse([frame(1, `${TS} abc`), frame(1, '2026-11-29T10:00:02Z def\n')]);
    assert.deepEqual(lines, [{ ts: TS, stream: 'stdout', text: 'abcdef' }]);
  });

  it('keeps stdout and stderr partial lines apart', () => {
    const lines = parse([frame(1, `${TS} out-`), frame(2, `${TS} err\n`), frame(1, `${TS} line\n`)]);
    assert.deepEqual(lines.map((l) => `${l.stream}:${l.text}`), ['stderr:err', 'stdout:out-line']);
  });

  it('cuts a 1 MB line to the bound with a marker, without holding it', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < 64; i++) chunks.push(frame(1, `${TS} ${'x'.repeat(16 * 1024)}`));
    chunks.push(frame(1, `${TS} \n`), frame(1, `${TS} next\n`));
    const lines = parse(chunks);
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.text.startsWith('x'.repeat(MAX_LINE_BYTES)));
    assert.match(lines[0]!.text, new RegExp(`^x{${MAX_LINE_BYTES}} \\[…line cut: ${64 * 16 * 1024 - MAX_LINE_BYTES} more bytes\\]$`));
    assert.equal(lines[1]!.text, 'next');
  });

  it('never cuts inside a UTF-8 character', () => {
    const euro = '€'.repeat(MAX_LINE_BYTES); // 3 bytes each
    const [line] = parse([frame(1, `${TS} ${euro}\n`)]);
    const kept = line!.text.replace(/ \[…line cut: \d+ more bytes\]$/, '');
    assert.ok(!kept.includes('\uFFFD'));
    assert.ok(Buffer.byteLength(kept) <= MAX_LINE_BYTES);
  });

  it('makes binary output safe text', () => {
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x07, 0x1b, 0x5b, 0x31, 0x6d, 0x09, 0x0d]);
    const [line] = parse([frame(1, Buffer.concat([Buffer.from(`${TS} `), binary, Buffer.from('\n')]))]);
    assert.equal(line!.text, '\uFFFD\uFFFD\uFFFDA\uFFFD\x1b[1m\t');
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(line)));
  });

  it('flushes a last line without newline at the end', () => {
    assert.deepEqual(parse([frame(1, `${TS} bye`)]).map((l) => l.text), ['bye']);
  });

  it('reads raw (tty) output line by line', () => {
    const lines = parse([Buffer.from(`${TS} a\n${TS} b`), Buffer.from('c\n')], true);
    assert.deepEqual(lines.map((l) => l.text), ['a', 'bc']);
  });

  it('treats a stream that is not multiplexed as raw instead of losing it', () => {
    const lines = parse([Buffer.from(`${TS} plain text here\n`)]);
    assert.deepEqual(lines.map((l) => l.text), ['plain text here']);
  });
});

describe('timestamps', () => {
  it('normalise to 9 fraction digits so they sort as text', () => {
    assert.equal(normalizeTimestamp('2026-11-29T10:00:00.5Z'), '2026-11-29T10:00:00.500000000Z');
    assert.equal(normalizeTimestamp('2026-11-29T10:00:00Z'), '2026-11-29T10:00:00.000000000Z');
    assert.equal(normalizeTimestamp('nonsense'), undefined);
    // As raw text ".5" sorts after ".45" although it is later only by coincidence; normalised, order is time order.
    assert.ok(normalizeTimestamp('2026-11-29T10:00:00.45Z')! < normalizeTimestamp('2026-11-29T10:00:00.5Z')!);
    assert.ok(normalizeTimestamp('2026-11-29T10:00:00.5Z')! < normalizeTimestamp('2026-11-29T10:00:00.123456789Z'.replace('00.1', '01.1'))!);
  });

  it('become Docker\'s seconds.nanoseconds for since', () => {
    assert.equal(timestampToSince('2026-11-29T10:00:00.123456789Z'), `${Date.UTC(2026, 10, 29, 10) / 1000}.123456789`);
  });

  it('sanitizeLine drops one trailing CR', () => {
    assert.equal(sanitizeLine(Buffer.from('a\r')), 'a');
  });
});
