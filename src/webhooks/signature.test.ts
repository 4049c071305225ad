import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signBody, verifySignature } from './signature.js';

// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
const SECRET = "It's a Secret to Everybody";
const PAYLOAD = Buffer.from('Hello, World!');
const GITHUB_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

describe('X-Hub-Signature-256', { timeout: 10_000 }, () => {
  it("verifies GitHub's documented test vector", () => {
    assert.equal(signBody(SECRET, PAYLOAD), GITHUB_SIGNATURE);
    assert.equal(verifySignature(SECRET, PAYLOAD, GITHUB_SIGNATURE), 'ok');
  });

  it('refuses another secret, another body, a flipped digit', () => {
    assert.equal(verifySignature('another secret', PAYLOAD, GITHUB_SIGNATURE), 'mismatch');
    assert.equal(verifySignature(SECRET, Buffer.from('Hello, World!\n'), GITHUB_SIGNATURE), 'mismatch');
    const flipped = GITHUB_SIGNATURE.slice(0, -1) + (GITHUB_SIGNATURE.endsWith('7') ? '8' : '7');
    assert.equal(verifySignature(SECRET, PAYLOAD, flipped), 'mismatch');
  });

  it('refuses a missing, sha1-only, wrong-length or oddly written header without comparing', () => {
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(PAYLOAD).digest('hex')}`;
    assert.equal(verifySignature(SECRET, PAYLOAD, undefined), 'missing');
    assert.equal(verifySignature(SECRET, PAYLOAD, ''), 'missing');
    for (const bad of [
      sha1,
      GITHUB_SIGNATURE.slice(0, -2),
      `${GITHUB_SIGNATURE}00`,
      GITHUB_SIGNATURE.toUpperCase(),
      `SHA256=${GITHUB_SIGNATURE.slice(7)}`,
      ` ${GITHUB_SIGNATURE}`,
      GITHUB_SIGNATURE.slice(7),
      'sha256=',
    ]) assert.equal(verifySignature(SECRET, PAYLOAD, bad), 'malformed', bad);
    assert.equal(verifySignature(SECRET, PAYLOAD, [GITHUB_SIGNATURE, GITHUB_SIGNATURE]), 'malformed');
  });

  it('hashes the raw bytes: re-serialised JSON does not verify', () => {
    const raw = Buffer.from('{"zen":  "Keep it logically awesome.", "hook_id": 1}');
    const sig = signBody(SECRET, raw);
    assert.equal(verifySignature(SECRET, raw, sig), 'ok');
    assert.equal(verifySignature(SECRET, Buffer.from(JSON.stringify(JSON.parse(raw.toString()))), sig), 'mismatch');
  });
});
