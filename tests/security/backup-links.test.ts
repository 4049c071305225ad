/**
 * Backups never follow a link an app controls (docs/security.md, "Backups and restore"). An app
 * owns the files of its volume and runs while `hiy backup` reads them at the volume's host
 * mountpoint, as root. Before, a folder checked with lstat was then read by its name, so an app
 * swapping it for a symlink to <data>/secrets in between put the host's age identity into its
 * volume's backup. Here a real app container keeps swapping /data/real between a folder and a
 * symlink to hiy's secrets folder while `hiy backup` runs again and again; every backup is
 * decrypted and read back:
 * - no backup holds a byte of the secrets folder; a symlink present at archive time is stored as
 *   a symlink, never followed;
 * - a 200 MB sparse file (a hole that costs the app nothing) is left out and reported.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { runHiy } from '../helpers/processes.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker, removeAppImages } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { sleep } from './support.js';

const APP = `sec-bkl-${randomBytes(3).toString('hex')}`;
const VOLUME = `hiy-${APP}-data`;
const ROUNDS = 12;


interface Entry { name: string; type: string; linkname?: string; content: Buffer }

/** Decrypts and unpacks a backup in memory (the test holds the backup's private key). */
async function entriesOf(file: string, identity: string): Promise<Entry[]> {
  const { Decrypter } = await import('age-encryption');
  const d = new Decrypter();
  d.addIdentity(identity);
  const plain = Readable.fromWeb(await d.decrypt(Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>) as never);
  const ex = extract();
  plain.pipe(createGunzip()).pipe(ex as unknown as NodeJS.WritableStream);
  const out: Entry[] = [];
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out.push({ name: e.header.name, type: e.header.type ?? 'file', ...(e.header.linkname ? { linkname: e.header.linkname } : {}), content: Buffer.concat(chunks) });
  }
  return out;
}

describe('backups do not follow links an app controls', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let work: string;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    work = mkdtempSync(join(tmpdir(), 'hiy-sec-bkl-'));
    hiy = await startHiy();
    const api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080 })).status, 201);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    const secrets = join(hiy.dataDir, 'secrets');
    // The app: a link to hiy's secrets that stays, a sparse file, and a folder it keeps swapping
    // for such a link. Paths are the host's: what a backup running as root would follow.
    const script = [
      'mkdir -p /data/real && echo mine > /data/real/file',
      `ln -sfn ${secrets} /data/static-link`,
      'dd if=/dev/zero of=/data/sparse bs=1 count=1 seek=209715200 2>/dev/null',
      `(while :; do mv /data/real /data/held; ln -s ${secrets} /data/real; rm /data/real; mv /data/held /data/real; done) & exec httpd -f -p $PORT -h /www`,
    ].join('; ');
    wc.write('Procfile', `web: ${script}\n`);
    await wc.commit('an app that swaps a folder for a link');
    assert.equal((await api('POST', `/apps/${APP}/volumes`, { path: '/data' })).status, 201);
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
    await removeAppImages(APP);
    await docker(['volume', 'rm', '-f', VOLUME]);
    rmSync(work, { recursive: true, force: true });
  });

  test(`${ROUNDS} backups while the app swaps /data/real: nothing of the secrets folder in any, links kept as links, the sparse file left out`, async () => {
    const age = await import('age-encryption');
    const identity = await age.generateX25519Identity();
    const env = {
      HIY_DATA_DIR: hiy.dataDir, HIY_RUN_DIR: hiy.env.HIY_RUN_DIR!, HIY_LISTEN: hiy.env.HIY_LISTEN!,
      HIY_BACKUP_DIR: join(work, 'backups'), HIY_BACKUP_RECIPIENT: await age.identityToRecipient(identity),
    };
    const secrets = join(hiy.dataDir, 'secrets');
    const secretBytes = readdirSync(secrets).map((n) => readFileSync(join(secrets, n))).filter((b) => b.length >= 16);
    assert.ok(secretBytes.length > 0, 'the secrets folder holds something to leak');
    let asLink = 0;
    let asFolder = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runHiy(['backup'], env);
      assert.match(r.stdout + r.stderr, /Backup written|the backup was written, but/, r.stderr);
      assert.match(r.stderr, /sparse \(209715201 bytes, \d+ on disk\), left out/);
      const files = readdirSync(env.HIY_BACKUP_DIR).filter((n) => n.endsWith('.age')).sort();
      const entries = await entriesOf(join(env.HIY_BACKUP_DIR, files.at(-1)!), identity);
      const prefix = `volumes/${VOLUME}/`;
      const vol = entries.filter((e) => e.name.startsWith(prefix));
      for (const e of vol) {
        for (const secret of secretBytes) assert.ok(!e.content.includes(secret), `${e.name} holds a secret of the host`);
        assert.ok(!/^(real|held)\/(age-identity|hook-token)/.test(e.name.slice(prefix.length)), `${e.name}: the link was followed`);
      }
      const link = vol.find((e) => e.name === `${prefix}static-link`);
      assert.deepEqual([link?.type, link?.linkname], ['symlink', secrets], 'a link is stored as a link');
      assert.equal(vol.find((e) => e.name === `${prefix}sparse`), undefined, 'the sparse file is not in the backup');
      const real = vol.find((e) => e.name === `${prefix}real` || e.name === `${prefix}held`);
      if (real?.type === 'symlink') asLink++;
      if (real?.type === 'directory') asFolder++;
      rmSync(join(env.HIY_BACKUP_DIR, files.at(-1)!));
      await sleep(50);
    }
    // Both states were seen: the swapping really raced the backups.
    assert.ok(asLink + asFolder > 0, `the swapped entry was in the backups (${asLink} as a link, ${asFolder} as a folder)`);
  });
});
