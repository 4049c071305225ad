import type { IncomingMessage } from 'node:http';

export class TooLarge extends Error {}

/** The client closed the connection (or hiy cut it: too slow) before the body was complete. */
export class ClientGone extends Error {}

/** Bytes all bodies being read may hold together; a body that would go past it stops with Exhausted. */
export class BodyBudget {
  static Exhausted = class extends Error {};
  private used = 0;
  constructor(private readonly max: number) {}
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
}

/**
 * Reads a request body into memory, counting while reading: past `max` bytes it stops with
 * TooLarge; when `budget` (shared by all bodies) has no room for the next chunk, with
 * BodyBudget.Exhausted. What it took from the budget is given back when it settles.
 */
export function readBody(req: IncomingMessage, max: number, budget?: BodyBudget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      budget?.give(size);
      fn();
    };
    const onData = (c: Buffer) => {
      if (size + c.length > max) return settle(() => { chunks.length = 0; reject(new TooLarge(`body larger than ${max} bytes`)); });
      if (budget && !budget.take(c.length)) return settle(() => { chunks.length = 0; reject(new BodyBudget.Exhausted('no room for another body right now')); });
      size += c.length;
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => settle(() => resolve(Buffer.concat(chunks, size))));
    req.once('error', (err) => settle(() => reject(err)));
    req.once('aborted', () => settle(() => reject(new ClientGone('client went away'))));
  });
}
