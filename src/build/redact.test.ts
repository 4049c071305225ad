import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, MIN_SECRET_LENGTH, REDACTED, secretForms } from './redact.js';

const SECRET = 's3cr3t-P@ss word/+';

/** Feeds `text` in pieces of `size` characters and joins what comes out. */
function streamed(values: string[], text: string, size: number): string {
  const r = createRedactor(values).stream();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += r.push(text.slice(i, i + size));
  return out + r.end();
}

describe('redact', () => {
  test('plain, URL-encoded and base64 forms are replaced', () => {
    const redact = createRedactor([SECRET]);
    const b64 = Buffer.from(SECRET).toString('base64');
    const samples = [
      `password is ${SECRET}!`,
      `url=https://u:${encodeURIComponent(SECRET)}@db/x`,
      `form: p=${encodeURIComponent(SECRET).replace(/%20/g, '+')}&q=1`,
      `b64 ${b64}`,
      `b64url ${b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`,
    ];
    for (const s of samples) {
      const out = redact(s);
      assert.ok(out.includes(REDACTED), `${s} → ${out}`);
      assert.ok(!out.includes(SECRET) && !out.includes(b64.replace(/=+$/, '')), out);
    }
  });

  test('a value inside a longer base64 text is found at every byte offset', () => {
    const redact = createRedactor(['hunter22-longer-value']);
    for (const prefix of ['', 'u', 'us', 'usr:', 'user:']) {
      const header = `Authorization: Basic ${Buffer.from(`${prefix}hunter22-longer-value`).toString('base64')}`;
      const out = redact(header);
      assert.ok(out.includes(REDACTED), `prefix ${JSON.stringify(prefix)}: ${out}`);
      // Left around the marker: the prefix's own encoding plus at most a few boundary characters.
      const leftover = out.slice('Authorization: Basic '.length).replace(REDACTED, '');
      assert.ok(leftover.length <= Math.ceil((prefix.length * 4) / 3) + 4, `prefix ${JSON.stringify(prefix)} leaves ${leftover}`);
    }
  });

  test(`values shorter than ${MIN_SECRET_LENGTH} characters are left alone`, () => {
    const redact = createRedactor(['80', '1', 'abc', '']);
    assert.equal(redact('listening on port 80, DEBUG=1, abc'), 'listening on port 80, DEBUG=1, abc');
    assert.deepEqual(secretForms('abc'), []);
    assert.ok(secretForms('abcd').includes('abcd'));
  });

  test('the longer of two overlapping values is hidden whole', () => {
    const redact = createRedactor(['abcd', 'abcdefgh']);
    assert.equal(redact('x abcdefgh y abcd z'), `x ${REDACTED} y ${REDACTED} z`);
  });

  test('regex metacharacters in values are literal', () => {
    const redact = createRedactor(['a.b*c(d)[e]$']);
    assert.equal(redact('1 a.b*c(d)[e]$ 2 aXbbbcde 3'), `1 ${REDACTED} 2 aXbbbcde 3`);
  });

  test('no values: text passes unchanged, streaming too', () => {
    assert.equal(createRedactor([])('hello'), 'hello');
    assert.equal(streamed([], 'hello world', 3), 'hello world');
  });

  test('a value split across chunks is still replaced, at every chunk size', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const text = `start ${SECRET} middle ${b64} and again ${SECRET}${SECRET} end`;
    const expected = createRedactor([SECRET])(text);
    assert.ok(!expected.includes(SECRET));
    for (let size = 1; size <= text.length; size++) assert.equal(streamed([SECRET], text, size), expected, `chunk size ${size}`);
  });

  test('streaming holds back only (longest form − 1) characters and loses nothing', () => {
    // Longest form of 'abcdef' is its base64, 'YWJjZGVm' (8 chars): 7 are held back.
    const r = createRedactor(['abcdef']).stream();
    assert.equal(r.push('0123456789'), '012');
    assert.equal(r.push('abc'), '345');
    assert.equal(r.push('def tail'), `6789${REDACTED}`);
    assert.equal(r.end(), ' tail');
    assert.equal(r.end(), '');
  });

  test('a value that is a prefix of a longer one waits for the rest before deciding', () => {
    const text = 'x abcdefgh y';
    for (let size = 1; size <= text.length; size++) assert.equal(streamed(['abcd', 'abcdefgh'], text, size), `x ${REDACTED} y`, `chunk size ${size}`);
  });
});
