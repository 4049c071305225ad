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

/** Reads a JSON object body, bounded in size. */
export async function readJsonObject(c: Context, maxBytes = 256 * 1024): Promise<Record<string, unknown>> {
  const len = Number(c.req.header('content-length') ?? '0');
  if (len > maxBytes) throw new HiyError('payload_too_large', `request body is larger than ${maxBytes} bytes`);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw new HiyError('payload_too_large', `request body is larger than ${maxBytes} bytes`);
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
