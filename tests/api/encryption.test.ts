import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/open.js';
import { readEnv } from '../../src/env/repo.js';
import { openSecretBox } from '../../src/env/secret-box.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

// Env values must not be findable in the SQLite file or its WAL, while the server runs and after.

let h: HiyProcess;
let api: ReturnType<typeof apiClient>;
before(async () => { h = await startHiy({ keepDataDir: true }); api = apiClient(h); });
after(async () => {
  await h?.stop();
  const { rmSync } = await import('node:fs');
  if (h) rmSync(h.dataDir, { recursive: true, force: true });
});

const MARKER = 'ZEBRA-MARKER-4f9e1c-plaintext';
const needles = [
  Buffer.from(MARKER),
  Buffer.from(Buffer.from(MARKER).toString('base64')),
  Buffer.from(Buffer.from(MARKER).toString('base64url')),
  Buffer.from(Buffer.from(MARKER).toString('hex')),
  Buffer.from(MARKER, 'utf16le'),
  Buffer.from('ZEBRA-MARKER'),
];

function assertAbsent(what: string, expected: string[]): void {
  const files = ['hiy.db', 'hiy.db-wal', 'hiy.db-shm'].filter((f) => existsSync(join(h.dataDir, f)));
  assert.deepEqual(files, expected, `files ${what}`);
  for (const f of files) {
    const bytes = readFileSync(join(h.dataDir, f));
    for (const n of needles) assert.ok(!bytes.includes(n), `${n.toString().slice(0, 30)} found in ${f} ${what}`);
  }
}

describe('env encryption at rest', { timeout: 60_000 }, () => {
  it('keeps the identity in <data>/secrets with mode 0600', () => {
    const file = join(h.dataDir, 'secrets', 'age-identity.txt');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(h.dataDir, 'secrets')).mode & 0o777, 0o700);
    assert.ok(!readFileSync(join(h.dataDir, 'hiy.db')).includes(Buffer.from('AGE-SECRET-KEY')), 'identity not in the database');
  });

  it('stores values that are absent from the database and WAL bytes', async () => {
    assert.equal((await api('POST', '/apps', { name: 'vault' })).status, 201);
    const vars = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`K${i}`, `${MARKER}-${i}`]));
    assert.equal((await api('PATCH', '/apps/vault/env', { vars })).status, 200);
    assert.equal((await api('PATCH', '/apps/vault/env', { vars: { K0: MARKER } })).status, 200, 'an overwrite too');
    // The test can fail: the values are really there, just not readable.
    assert.equal((await api('GET', '/apps/vault/env/K0?reveal=true')).body.value, MARKER);
    assert.ok(statSync(join(h.dataDir, 'hiy.db-wal')).size > 0, 'the writes sit in the WAL');
    assertAbsent('while running', ['hiy.db', 'hiy.db-wal', 'hiy.db-shm']);
  });

  it('stays absent after the checkpoint at shutdown, and decrypts with the kept identity', async () => {
    assert.equal(await h.stop(), 0);
    // A clean close checkpoints the WAL into the main file and removes it.
    assertAbsent('after shutdown', ['hiy.db']);
    // Read back the way the next start would (not by starting a server: its start-up
    // reconciliation would sweep other tests' containers off the shared engine).
    const opened = await openDatabase(join(h.dataDir, 'hiy.db'));
    try {
      const env = await readEnv(opened.db, await openSecretBox(join(h.dataDir, 'secrets')), 'vault');
      assert.equal(env.K0, MARKER);
      assert.equal(env.K19, `${MARKER}-19`);
    } finally {
      await opened.close();
    }
  });
});
