// The stand-ins for the official postgres and redis images (tests/fixtures/images) keep the
// documented contract hiy relies on (docs/addons.md), under the hardening hiy gives add-ons:
// a non-root --user, no capabilities, a read-only root filesystem, a named volume.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cleanupByLabel, docker, ensureDocker, testRun } from '../../harness/docker.js';
import { ensurePostgresImage, ensureRedisImage, POSTGRES_IMAGE, REDIS_IMAGE } from '../helpers/debian-images.js';

const run = testRun();
const id = randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labels = Object.entries(run.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const hardened = ['--user', '999:999', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--read-only', '--tmpfs', '/tmp'];

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(250);
  }
}

describe('add-on images (stand-ins for the official ones)', { timeout: 1_800_000 }, () => {
  const volumes: string[] = [];
  before(async () => {
    await ensureDocker();
    await ensurePostgresImage();
    await ensureRedisImage();
  });
  after(async () => {
    await cleanupByLabel(run.label);
    for (const v of volumes) await docker(['volume', 'rm', '-f', v]);
  });

  test('postgres: POSTGRES_USER/PASSWORD/DB create the role and database on first start; passwords are checked over TCP', async () => {
    const name = `pg-${id}`;
    volumes.push(name);
    const r = await docker(['run', '-d', '--name', name, ...labels, ...hardened, '--tmpfs', '/var/run/postgresql:uid=999,gid=999',
      '-e', 'POSTGRES_PASSWORD=pw-1', '-e', 'POSTGRES_USER=app', '-e', 'POSTGRES_DB=appdb', '-v', `${name}:/var/lib/postgresql/data`, POSTGRES_IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    const sql = (pw: string, q: string) => docker(['exec', '-e', `PGPASSWORD=${pw}`, name, 'psql', '-h', '127.0.0.1', '-U', 'app', '-d', 'appdb', '-tAc', q]);
    await until('postgres answers', async () => ((await sql('pw-1', 'select 1')).stdout.trim() === '1' ? true : undefined));
    assert.equal((await sql('pw-1', 'create table t(x int); insert into t values (42)')).code, 0);
    assert.equal((await sql('pw-1', 'select x from t')).stdout.trim(), '42');
    const wrong = await sql('nope', 'select 1');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /password authentication failed/);
    // The data lives in the volume: a new container on it keeps the rows and ignores the env.
    await docker(['rm', '-f', name]);
    assert.equal((await docker(['run', '-d', '--name', name, ...labels, ...hardened, '--tmpfs', '/var/run/postgresql:uid=999,gid=999',
      '-e', 'POSTGRES_PASSWORD=other', '-v', `${name}:/var/lib/postgresql/data`, POSTGRES_IMAGE])).code, 0);
    assert.equal(await until('rows after a restart', async () => {
      const out = (await sql('pw-1', 'select x from t')).stdout.trim();
      return out === '' ? undefined : out;
    }), '42');
  });

  test('postgres refuses to initialise without a password', async () => {
    const r = await docker(['run', '--rm', ...labels, ...hardened, '--tmpfs', '/var/run/postgresql:uid=999,gid=999', '--tmpfs', '/var/lib/postgresql/data:uid=999,gid=999', POSTGRES_IMAGE]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /superuser password is not specified/);
  });

  test('redis: --requirepass is enforced and --appendonly keeps data in /data', async () => {
    const name = `rd-${id}`;
    volumes.push(name);
    const start = () => docker(['run', '-d', '--name', name, ...labels, ...hardened, '-v', `${name}:/data`, REDIS_IMAGE, 'redis-server', '--requirepass', 'pw-2', '--appendonly', 'yes']);
    assert.equal((await start()).code, 0);
    const cli = (...args: string[]) => docker(['exec', name, 'redis-cli', ...args]);
    await until('redis answers', async () => ((await cli('-a', 'pw-2', '--no-auth-warning', 'ping')).stdout.trim() === 'PONG' ? true : undefined));
    assert.match((await cli('incr', 'n')).stdout, /NOAUTH/);
    assert.equal((await cli('-a', 'pw-2', '--no-auth-warning', 'incr', 'n')).stdout.trim(), '1');
    await docker(['rm', '-f', name]);
    assert.equal((await start()).code, 0);
    assert.equal(await until('the counter after a restart', async () => {
      const out = (await cli('-a', 'pw-2', '--no-auth-warning', 'incr', 'n')).stdout.trim();
      return /^\d+$/.test(out) ? out : undefined;
    }), '2');
  });
});
