import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSse, type SseEvent } from './sse.js';

function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({ start(c) { for (const x of chunks) c.enqueue(enc.encode(x)); c.close(); } });
}

async function all(chunks: string[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(body(chunks))) out.push(e);
  return out;
}

describe('readSse', () => {
  it('reads events with ids, names and multi-line data, ignoring comments', async () => {
    const events = await all([': keep-alive\n\n', 'id: 1\ndata: {"a":1}\n\n', 'event: end\ndata: x\ndata: y\n\n']);
    assert.deepEqual(events, [
      { event: 'message', id: '1', data: '{"a":1}' },
      { event: 'end', id: undefined, data: 'x\ny' },
    ]);
  });

  it('copes with events cut across chunks and CRLF split between them', async () => {
    const events = await all(['id: 7\r', '\ndata: hel', 'lo\r\n\r\n']);
    assert.deepEqual(events, [{ event: 'message', id: '7', data: 'hello' }]);
  });
});
