import type { IncomingMessage } from 'node:http';

export class TooLarge extends Error {}

/** Reads a request body into memory, counting while reading: past `max` bytes it stops with TooLarge. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        chunks.length = 0;
        reject(new TooLarge(`body larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => { if (size <= max) resolve(Buffer.concat(chunks, size)); });
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('client went away')));
  });
}
