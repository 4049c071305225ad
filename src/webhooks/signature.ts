import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = 'ok' | 'missing' | 'malformed' | 'mismatch';

// Exactly "sha256=" and 64 lowercase hex digits, as GitHub sends it; anything else is refused
// before any hashing, so a wrong-length value never reaches the compare.
const HEADER_RE = /^sha256=([0-9a-f]{64})$/;

/** `sha256=<hex>` of the raw body, as GitHub computes X-Hub-Signature-256. */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks X-Hub-Signature-256 over the raw body bytes (never a re-serialised JSON: whitespace and
 * key order matter). The sha1 header (X-Hub-Signature) is not accepted on its own.
 */
export function verifySignature(secret: string, body: Buffer, header: string | string[] | undefined): SignatureCheck {
  if (header === undefined || header === '') return 'missing';
  if (Array.isArray(header)) return 'malformed';
  const m = HEADER_RE.exec(header);
  if (!m) return 'malformed';
  const got = Buffer.from(m[1]!, 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  if (got.length !== expected.length) return 'malformed';
  return timingSafeEqual(got, expected) ? 'ok' : 'mismatch';
}
