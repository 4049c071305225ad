import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HiyError, isHiyError } from '../errors.js';
import type { Logger } from '../log.js';

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Every error leaves as {"error":{"code","message"}} with a real status; unknown ones are logged and become 500. */
export function onApiError(log: Logger) {
  return (err: Error, c: Context) => {
    if (isHiyError(err)) return c.json(errorBody(err.code, err.message), err.status as ContentfulStatusCode);
    if (err instanceof SyntaxError) return c.json(errorBody('bad_request', 'request body is not valid JSON'), 400);
    log.error({ err, path: c.req.path, method: c.req.method }, 'unhandled error');
    return c.json(errorBody('internal', 'internal error'), 500);
  };
}

export function apiNotFound(c: Context) {
  return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
}

/** Reads a body as text, refusing it as soon as it grows past maxBytes (chunked bodies too). */
export async function readBoundedText(c: Context, maxBytes: number): Promise<string> {
  const tooLarge = () => new HiyError('payload_too_large', `request body is larger than ${maxBytes} bytes`);
  if (Number(c.req.header('content-length') ?? '0') > maxBytes) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON object body, bounded in size. */
export async function readJsonObject(c: Context, maxBytes = 256 * 1024): Promise<Record<string, unknown>> {
  const text = await readBoundedText(c, maxBytes);
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HiyError('bad_request', 'request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HiyError('bad_request', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}
