// hiy backup while deploys and env changes run, then hiy restore into a fresh data dir: the
// restored server serves the same apps with the same env values (read back through the API and
// from inside the app's container), its git repos and its app volume. Refusals: a truncated
// file, a missing or wrong env identity, a server still running on the target.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, removeDataDir, startHiy, testEnv, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { runHiy } from '../helpers/processes.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';

const tag = randomBytes(3).toString('hex');
const APP1 = `bk-${tag}-a`;
const APP2 = `bk-${tag}-b`;
const VOLUME = `hiy-${APP1}-data`;
const hasRclone = spawnSync('rclone', ['version'], { encoding: 'utf8' }).status === 0;

/** `hiy <args>` with exactly these variables (the CLI reads HIY_* like the server). */
const hiy = runHiy;

/** curl through Caddy until it answers 200 (a restored release is started by reconciliation). */
async function curlOk(server: Parameters<typeof curlApp>[0], app: string, path = '/'): Promise<string> {
  let last = '';
  for (let i = 0; i < 60; i++) {
    const r = await curlApp(server, app, path);
    if (r.status === '200') return r.body;
    last = JSON.stringify(r);
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`${app}${path} never answered 200: ${last}`);
}

async function waitDeploy(api: ReturnType<typeof apiClient>, app: string, id: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const d = (await api('GET', `/apps/${app}/deploys/${id}`)).body.deploy as { status: string };
    if (d.status === 'success') return;
    if (d.status === 'failed' || d.status === 'cancelled') throw new Error(`deploy ${id} of ${app}: ${d.status}`);
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`deploy ${id} of ${app} did not finish`);
}

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const age = await import('age-encryption');
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

describe('hiy backup and hiy restore', { timeout: 1_200_000 }, () => {
  let a: HiyProcess;
  let b: HiyProcess | undefined;
  let wc: WorkingCopy;
  let work: string;
  let backupFile = '';
  let keyFile = '';
  let envIdentityCopy = '';
  const backupDir = () => join(work, 'backups');
  const shas: Record<string, string> = {};
  const env2: Record<string, string> = {};
  let recipient = '';
  let signer = '';

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    work = mkdtempSync(join(tmpdir(), 'hiy-backup-test-'));
    const k = await keyPair();
    recipient = k.recipient;
    keyFile = join(work, 'backup-key.txt');
    writeFileSync(keyFile, `# backup key\n${k.identity}\n`, { mode: 0o600 });
    // Its data dir is kept when it stops: stopping removes a test server's images too, and the
    // restore below relies on them staying cached on the engine, as they would on a real box.
    a = await startHiy({ startTimeoutMs: 60_000, keepDataDir: true });
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    mkdirSync(join(wc.dir, 'www', 'cgi-bin'), { recursive: true });
    // busybox httpd runs CGI scripts with the container's environment: the env values the app really got.
    writeFileSync(join(wc.dir, 'www', 'cgi-bin', 'env'), '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "GREETING=$GREETING GEN=$GEN GEN_COPY=$GEN_COPY"\n', { mode: 0o755 });
  });

  after(async () => {
    await b?.stop();
    await a?.stop();
    if (a && existsSync(a.dataDir)) await removeDataDir(a.dataDir);
    wc?.remove();
    for (const app of [APP1, APP2]) await cleanupByLabel(`hiy.app=${app}`);
    await docker(['volume', 'rm', '-f', VOLUME]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('two apps deployed, with env vars and a volume holding data', async () => {
    const api = apiClient(a);
    for (const [app, greeting] of [[APP1, 'hello one'], [APP2, 'hello two']] as const) {
      assert.equal((await api('POST', '/apps', { name: app, port: 8080 })).status, 201);
      const vars = { GREETING: greeting, GEN: '0', GEN_COPY: '0' };
      assert.equal((await api('PATCH', `/apps/${app}/env`, { vars })).status, 200);
      wc.write('www/index.html', `${app} v1\n`);
      shas[`${app}:v1`] = await wc.commit(`${app} v1`);
      const push = await wc.push(remoteUrl(a.url, app, a.token));
      assert.equal(push.code, 0, push.stderr);
    }
    const vol = await api('POST', `/apps/${APP1}/volumes`, { path: '/www/data' });
    assert.equal(vol.status, 201, JSON.stringify(vol.body));
    // Mounting the volume restarts the release, which creates the volume.
    assert.equal(vol.body.restarted, true, JSON.stringify(vol.body));
    await waitDeploy(api, APP1, vol.body.deploy_id as number);
    const inspect = JSON.parse((await docker(['volume', 'inspect', VOLUME])).stdout)[0] as { Mountpoint: string };
    writeFileSync(join(inspect.Mountpoint, 'note.txt'), 'kept in the volume\n');
    mkdirSync(join(inspect.Mountpoint, 'sub'), { recursive: true });
    writeFileSync(join(inspect.Mountpoint, 'sub', 'deep.txt'), 'deeper\n');
    assert.equal(await curlOk(a, APP1, '/data/note.txt'), 'kept in the volume\n');
    assert.match(await curlOk(a, APP2, '/cgi-bin/env'), /GREETING=hello two GEN=0 GEN_COPY=0/);
  });

  test('a backup taken while a deploy and env changes run', async () => {
    const api = apiClient(a);
    const backupEnv = { ...a.env, HIY_BACKUP_DIR: backupDir(), HIY_BACKUP_RECIPIENT: recipient };
    let stop = false;
    let gen = 0;
    // Each PATCH sets both keys in one request: a consistent snapshot has GEN === GEN_COPY.
    const envChanges = (async () => {
      while (!stop && gen < 40) {
        gen++;
        const r = await api('PATCH', `/apps/${APP2}/env`, { vars: { GEN: String(gen), GEN_COPY: String(gen) } });
        assert.equal(r.status, 200);
      }
    })();
    wc.write('www/index.html', `${APP1} v2\n`);
    shas[`${APP1}:v2`] = await wc.commit(`${APP1} v2`);
    const deploy = wc.push(remoteUrl(a.url, APP1, a.token));
    await new Promise((r) => setTimeout(r, 300));
    const backup = await hiy(['backup'], backupEnv);
    stop = true;
    await envChanges;
    const pushed = await deploy;
    assert.equal(backup.code, 0, `stdout:\n${backup.stdout}\nstderr:\n${backup.stderr}`);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.ok(gen > 0, 'env changes ran during the backup');
    const files = readdirSync(backupDir()).filter((f) => f.endsWith('.tar.gz.age'));
    assert.equal(files.length, 1, `one finished backup, no partial files: ${readdirSync(backupDir()).join(', ')}`);
    assert.deepEqual(readdirSync(backupDir()).filter((f) => !f.startsWith('.')).sort(), [files[0], `${files[0]}.sig`]);
    backupFile = join(backupDir(), files[0]!);
    assert.match(backup.stdout, /integrity_check ok/);
    assert.match(backup.stdout, new RegExp(`volume ${VOLUME}: \\d+ bytes`));
    assert.match(backup.stdout, /Backup written: /);
    // Every backup is signed; the operator keeps the printed key with the backup key (docs/backup.md).
    signer = /Signed with: (ed25519:\S+)/.exec(backup.stdout)?.[1] ?? '';
    assert.ok(signer, 'the backup names its signing key');
    assert.ok(existsSync(`${join(backupDir(), readdirSync(backupDir()).find((f) => f.endsWith('.tar.gz.age'))!)}.sig`), 'its signature sits next to it');
    assert.equal(readFileSync(backupFile).subarray(0, 21).toString(), 'age-encryption.org/v1', 'the file is age-encrypted');
    assert.doesNotMatch(readFileSync(backupFile).toString('latin1'), /hello two|SQLite format/, 'nothing readable in the file');
    // The operator keeps a copy of the env var key apart from the backups (docs/backup.md).
    envIdentityCopy = join(work, 'env-identity.txt');
    copyFileSync(join(a.dataDir, 'secrets', 'age-identity.txt'), envIdentityCopy);
  });

  test('restore refuses a data dir whose server is running', async () => {
    const r = await hiy(['restore', backupFile, '--key', keyFile, '--identity', envIdentityCopy], a.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to restore into .*: a process \(pid \d+\) has .*hiy\.db open: stop hiy first/);
  });

  test('a truncated backup is refused with a clear message and changes nothing', async () => {
    const cut = join(work, 'truncated.tar.gz.age');
    const full = readFileSync(backupFile);
    writeFileSync(cut, full.subarray(0, Math.floor(full.length * 0.6)));
    const t = await testEnv({ dataDir: join(work, 'target-truncated') });
    const signed = await hiy(['restore', cut, '--key', keyFile, '--identity', envIdentityCopy, '--signer', signer], t.env);
    assert.equal(signed.code, 1, signed.stdout);
    assert.match(signed.stderr, /was not restored: it has no signature/);
    const r = await hiy(['restore', cut, '--key', keyFile, '--identity', envIdentityCopy, '--unsigned'], t.env);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /truncated\.tar\.gz\.age is truncated or damaged and was not restored/);
    assert.equal(existsSync(join(t.dataDir, 'hiy.db')), false, 'no database was written');
  });

  test('restore without the env identity fails clearly, and so does a wrong one', async () => {
    const t = await testEnv({ dataDir: join(work, 'target-no-identity') });
    const none = await hiy(['restore', backupFile, '--key', keyFile, '--signer', signer], t.env);
    assert.equal(none.code, 1, none.stdout);
    assert.match(none.stderr, /the backup holds encrypted values \(env var .*\).*age-identity\.txt.*--identity FILE.*Nothing was restored/s);
    assert.equal(existsSync(join(t.dataDir, 'hiy.db')), false);

    const other = join(work, 'other-identity.txt');
    writeFileSync(other, `${(await keyPair()).identity}\n`);
    const wrong = await hiy(['restore', backupFile, '--key', keyFile, '--identity', other, '--signer', signer], t.env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /none of the identities tried decrypts them \(.*other-identity\.txt\)/);

    const noKey = await hiy(['restore', backupFile, '--identity', envIdentityCopy, '--signer', signer], t.env);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /none of the given keys opens .*HIY_BACKUP_RECIPIENT/);
    assert.equal(existsSync(join(t.dataDir, 'hiy.db')), false);
  });

  test('after losing the box: restore into a fresh data dir serves the same apps with the same env values', async () => {
    const apiA = apiClient(a);
    const finalApp2 = (await apiA('GET', `/apps/${APP2}/env?reveal=true`)).body;
    await a.stop();
    // The disaster: the server, its data dir, its containers and the app's volume are gone (images stay cached).
    rmSync(a.dataDir, { recursive: true, force: true });
    for (const app of [APP1, APP2]) {
      const ids = (await docker(['ps', '-aq', '--filter', `label=hiy.app=${app}`])).stdout.split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids]);
    }
    assert.equal((await docker(['volume', 'rm', VOLUME])).code, 0);

    const target = join(work, 'restored');
    const t = await testEnv({ dataDir: target });
    const r = await hiy(['restore', backupFile, '--key', keyFile, '--identity', envIdentityCopy, '--signer', signer], t.env);
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /signature ok \(ed25519:/);
    assert.match(r.stdout, new RegExp(`Restored 2 app\\(s\\) into .*${APP1}, ${APP2}`));
    assert.match(r.stdout, new RegExp(`volume ${VOLUME} restored`));

    b = await startHiy({ dataDir: target, keepDataDir: false, startTimeoutMs: 120_000 });
    const api = apiClient(b);
    const apps = (await api('GET', '/apps')).body;
    const names = (Array.isArray(apps) ? apps : apps.apps).map((x: { name: string }) => x.name).sort();
    assert.deepEqual(names.filter((n: string) => n.startsWith(`bk-${tag}`)), [APP1, APP2]);

    const e1 = (await api('GET', `/apps/${APP1}/env?reveal=true`)).body;
    const e2 = (await api('GET', `/apps/${APP2}/env?reveal=true`)).body;
    const vars = (e: any): Record<string, string> => (e.vars ?? e.env ?? e) as Record<string, string>;
    assert.equal(vars(e1).GREETING, 'hello one');
    assert.equal(vars(e2).GREETING, 'hello two');
    const gen = Number(vars(e2).GEN);
    assert.equal(vars(e2).GEN_COPY, vars(e2).GEN, 'one consistent snapshot of the database');
    assert.ok(gen >= 0 && gen <= Number(vars(finalApp2).GEN), `GEN ${gen} is a value the server had`);
    Object.assign(env2, vars(e2));

    // The values reached the restored containers (decrypted with the restored identity).
    assert.equal((await curlOk(b, APP2, '/cgi-bin/env')).trim(), `GREETING=hello two GEN=${gen} GEN_COPY=${gen}`);
    const info = (await api('GET', `/apps/${APP1}`)).body;
    const sha = (info.app ?? info).current_release.sha as string;
    const version = sha === shas[`${APP1}:v2`] ? 'v2' : 'v1';
    assert.equal(sha, shas[`${APP1}:${version}`]);
    assert.equal(await curlOk(b, APP1), `${APP1} ${version}\n`);
    assert.equal(await curlOk(b, APP2), `${APP2} v1\n`);
    assert.equal(await curlOk(b, APP1, '/data/note.txt'), 'kept in the volume\n');
    assert.equal(await curlOk(b, APP1, '/data/sub/deep.txt'), 'deeper\n');
    const head = await run('git', ['--git-dir', join(target, 'repos', `${APP1}.git`), 'cat-file', '-t', sha]);
    assert.equal(head.stdout.trim(), 'commit', 'the restored bare repo holds the released commit');
  });

  test('a second backup keeps the first (retention only removes backups older than HIY_BACKUP_KEEP_DAYS)', async () => {
    assert.ok(b);
    // As the timer and `sudo hiy backup` do: the settings from an env file, none in the environment.
    const envFile = join(work, 'hiy.env');
    const settings = { ...b.env, HIY_BACKUP_DIR: backupDir(), HIY_BACKUP_RECIPIENT: recipient, HIY_BACKUP_KEEP_DAYS: '1' };
    writeFileSync(envFile, `# test\n${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
    const r = await hiy(['backup', '--json', '--env-file', envFile], {});
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { file: string; removed: string[]; manifest: { apps: string[]; identity_included: boolean } };
    assert.deepEqual(out.removed, []);
    assert.equal(out.manifest.identity_included, false);
    assert.equal(readdirSync(backupDir()).filter((f) => f.endsWith('.tar.gz.age')).length, 2);
  });

  test(`an off-site copy through rclone (a local path as the target)${hasRclone ? '' : ' (skipped: rclone is not installed)'}`, { skip: !hasRclone }, async () => {
    assert.ok(b);
    const offsite = join(work, 'offsite');
    mkdirSync(offsite);
    const r = await hiy(['backup', '--json'], { ...b.env, HIY_BACKUP_DIR: backupDir(), HIY_BACKUP_RECIPIENT: recipient, HIY_BACKUP_RCLONE: offsite, HOME: work });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { file: string; notes: string[] };
    assert.deepEqual(out.notes, []);
    const name = out.file.split('/').pop()!;
    assert.deepEqual(readdirSync(offsite).sort(), [name, `${name}.sig`], 'the signature goes along');
    assert.deepEqual(readFileSync(join(offsite, name)), readFileSync(out.file));
  });
});
