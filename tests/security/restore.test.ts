/**
 * `hiy restore` trusts only what it checked (docs/security.md, "Backups and restore"). Anyone who
 * knows HIY_BACKUP_RECIPIENT (a public key) can build a file that decrypts with the backup key:
 * - a forged backup without a signature, or signed with another key, is refused before a byte
 *   of it is decrypted, and nothing is created;
 * - even restored with --unsigned, a manifest whose repo name climbs out of repos/ and an archive
 *   whose entries lead through a symlink out of the staging folder are refused, and nothing is
 *   created outside (before, `<data>/x.git` appeared, and a folder outside got a child);
 * - a real, signed backup with one byte changed is refused; unchanged, it restores.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { openDatabase } from '../../src/db/open.js';
import { runHiy } from '../helpers/processes.js';
import { apiClient, startHiy, testEnv, type HiyProcess } from '../../harness/server.js';

type E = Partial<Header> & { name: string; content?: Buffer | string };


/** What an attacker holding only the recipient (a public key) can make: tar → gzip → age. */
async function forge(entries: E[], recipient: string): Promise<Buffer> {
  const p = pack();
  for (const { content, ...h } of entries) {
    if (content === undefined) p.entry({ mode: 0o755, ...h });
    else p.entry({ mode: 0o644, ...h }, typeof content === 'string' ? Buffer.from(content) : content);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const { Encrypter } = await import('age-encryption');
  const e = new Encrypter();
  e.addRecipient(recipient);
  const out = await e.encrypt(gzipSync(Buffer.concat(chunks)));
  return Buffer.from(out);
}

describe('restore refuses forged and climbing backups', { timeout: 300_000 }, () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let keyFile: string;
  let db: Buffer;
  let bundle: Buffer;
  let server: HiyProcess;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'hiy-sec-restore-'));
    const age = await import('age-encryption');
    identity = await age.generateX25519Identity();
    recipient = await age.identityToRecipient(identity);
    keyFile = join(work, 'backup-key.txt');
    writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
    // A real (empty) hiy database and a real git bundle: an attacker can make both.
    const made = await openDatabase(join(work, 'made', 'hiy.db'));
    await made.close();
    db = readFileSync(join(work, 'made', 'hiy.db'));
    const repo = join(work, 'repo');
    const git = (...a: string[]) => spawnSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: repo, encoding: 'utf8' });
    mkdirSync(repo);
    git('init', '-q');
    writeFileSync(join(repo, 'f'), 'x');
    git('add', '-A');
    git('commit', '-qm', 'x');
    git('bundle', 'create', join(work, 'x.bundle'), '--all');
    bundle = readFileSync(join(work, 'x.bundle'));
  });

  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const manifest = (over: Record<string, unknown>) => JSON.stringify({
    format: 'hiy-backup', version: 1, created_at: new Date().toISOString(), host: 'attacker', instance_id: null,
    apps: ['x'], repos: [], volumes: [], identity_included: false, db_sha256: createHash('sha256').update(db).digest('hex'), ...over,
  });

  async function restoreInto(name: string, file: Buffer, extra: string[], sig?: string): Promise<{ r: Awaited<ReturnType<typeof runHiy>>; dataDir: string }> {
    const path = join(work, `${name}.tar.gz.age`);
    writeFileSync(path, file);
    if (sig !== undefined) writeFileSync(`${path}.sig`, sig);
    const t = await testEnv({ dataDir: join(work, `target-${name}`) });
    return { r: await runHiy(['restore', path, '--key', keyFile, ...extra], t.env), dataDir: t.dataDir };
  }

  test('a forged backup without a signature, or signed by another key, is refused before anything is created', async () => {
    const file = await forge([{ name: 'manifest.json', content: manifest({}) }, { name: 'hiy.db', content: db }], recipient);
    const none = await restoreInto('unsigned', file, []);
    assert.equal(none.r.code, 1);
    assert.match(none.r.stderr, /was not restored: it has no signature .*HIY_BACKUP_RECIPIENT.*--signer/s);
    assert.equal(existsSync(none.dataDir), false, 'not even the data dir was made');

    // The attacker signs with a key of their own and names it in the file: worthless.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const digest = createHash('sha256').update(file).digest();
    const sig = sign(null, Buffer.concat([Buffer.from('hiy-backup-signature v1\n'), digest]), privateKey).toString('base64');
    const theirs = `ed25519:${publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64')}`;
    const real = `ed25519:${generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64')}`;
    const forged = await restoreInto('forged-sig', file, ['--signer', real], `hiy-backup-signature v1\nkey ${theirs}\nsig ${sig}\n`);
    assert.equal(forged.r.code, 1);
    assert.match(forged.r.stderr, /its signature does not verify with ed25519:/);
    const noSigner = await restoreInto('forged-nokey', file, [], `hiy-backup-signature v1\nkey ${theirs}\nsig ${sig}\n`);
    assert.match(noSigner.r.stderr, /no signing key to check it with: pass --signer .*a key named in the file proves nothing/);
  });

  test('--unsigned: a repo name that climbs out of repos/ is refused, nothing is written', async () => {
    const file = await forge([
      { name: 'manifest.json', content: manifest({ repos: ['../x'] }) },
      { name: 'hiy.db', content: db },
      { name: 'x.bundle', content: bundle },
    ], recipient);
    const { r, dataDir } = await restoreInto('climb', file, ['--unsigned']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /the manifest holds an unsafe repo name "\.\.\/x"; nothing was restored/);
    assert.equal(existsSync(join(dataDir, 'x.git')), false);
    assert.equal(existsSync(join(dataDir, 'hiy.db')), false);
  });

  test('--unsigned: entries that lead through a symlink out of the staging folder are refused before any folder is made there', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'hiy-sec-outside-'));
    try {
      const file = await forge([
        { name: 'manifest.json', content: manifest({}) },
        { name: 'hiy.db', content: db },
        { name: 'a', type: 'symlink', linkname: outside },
        { name: 'a/b/c', type: 'symlink', linkname: 'x' },
      ], recipient);
      const { r } = await restoreInto('through-link', file, ['--unsigned']);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /the backup would write through "a\/b", which is not a folder/);
      assert.deepEqual(readdirSync(outside), [], 'nothing was created outside');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('a real signed backup: one changed byte is refused, the file as written restores', async () => {
    server = await startHiy();
    assert.equal((await apiClient(server)('POST', '/apps', { name: 'sec-rst-app' })).status, 201);
    const env = { ...server.env, HIY_BACKUP_DIR: join(work, 'backups'), HIY_BACKUP_RECIPIENT: recipient };
    const b = await runHiy(['backup'], env);
    assert.equal(b.code, 0, b.stderr);
    const signer = /Signed with: (ed25519:\S+)/.exec(b.stdout)?.[1];
    assert.ok(signer);
    const name = readdirSync(env.HIY_BACKUP_DIR).find((f) => f.endsWith('.tar.gz.age'))!;
    const original = readFileSync(join(env.HIY_BACKUP_DIR, name));
    const sig = readFileSync(join(env.HIY_BACKUP_DIR, `${name}.sig`), 'utf8');
    const changed = Buffer.from(original);
    changed[Math.floor(changed.length / 2)]! ^= 1;
    const bad = await restoreInto('changed', changed, ['--signer', signer], sig);
    assert.equal(bad.r.code, 1);
    assert.match(bad.r.stderr, /its signature does not verify/);
    assert.equal(existsSync(bad.dataDir), false);
    const good = await restoreInto('good', original, ['--signer', signer], sig);
    assert.equal(good.r.code, 0, good.r.stderr);
    assert.match(good.r.stdout, /Restored 1 app\(s\)/);
  });
});

