import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HiyError } from '../errors.js';
import { validateAddonName, validateAttachName, varOf } from './names.js';
import { POSTGRES } from './postgres.js';
import { REDIS } from './redis.js';

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof HiyError && err.status === 400 && pattern.test(err.message));
}

describe('add-on names and --as values', { timeout: 10_000 }, () => {
  it('accepts host-name slugs of 2 to 40 characters', () => {
    for (const n of ['db', 'shop-db', 'cache2', `a${'b'.repeat(39)}`]) assert.equal(validateAddonName(n), n);
  });

  it('refuses what could not be a host name or would meet hiy\'s own objects', () => {
    for (const n of ['a', '../etc', 'a;rm -rf /', 'Upper', 'a--b', '-a', 'a-', 'a_b', 'a.b', '$(id)', 'db\n', '', `a${'b'.repeat(40)}`, 'hiy', 'hiy-db', 'hiyx', 42, undefined]) {
      refused(() => validateAddonName(n), /add-on name/);
    }
    for (const n of ['localhost', 'gateway', 'host', 'docker', 'caddy']) refused(() => validateAddonName(n), /reserved/);
  });

  it('--as gives an upper-case NAME_URL; a trailing _URL is the same name', () => {
    assert.equal(validateAttachName('main'), 'MAIN');
    assert.equal(validateAttachName('DATABASE_URL'), 'DATABASE');
    assert.equal(validateAttachName('cache_2'), 'CACHE_2');
    assert.equal(varOf(validateAttachName('Reports')), 'REPORTS_URL');
  });

  it('--as refuses shell, env syntax and names hiy sets', () => {
    for (const as of ['A=B', 'a b', '1ABC', '$(id)', 'X'.repeat(50), 'FOO-BAR', '_X', '', 'A_', '_URL', 42]) refused(() => validateAttachName(as), /--as/);
  });
});

describe('the servers follow their memory limit', { timeout: 10_000 }, () => {
  const opt = (cmd: string[], name: string) => cmd[cmd.indexOf(cmd.find((c) => c.startsWith(`${name}=`))!)]!.split('=')[1];

  it('postgres at the 256 MB default: 32 MB shared buffers, 4 MB work_mem, 32 connections, no JIT', () => {
    const cmd = POSTGRES.cmd(POSTGRES.defaultMemoryMb);
    assert.equal(POSTGRES.defaultMemoryMb, 256);
    assert.equal(opt(cmd, 'shared_buffers'), '32MB');
    assert.equal(opt(cmd, 'work_mem'), '4MB');
    assert.equal(opt(cmd, 'max_connections'), '32');
    assert.equal(opt(cmd, 'jit'), 'off');
    // The smallest allowed limit still gets a working server.
    assert.equal(opt(POSTGRES.cmd(POSTGRES.minMemoryMb), 'shared_buffers'), '16MB');
    assert.equal(opt(POSTGRES.cmd(POSTGRES.minMemoryMb), 'max_connections'), '20');
  });

  it('redis keeps half its limit for data and refuses writes past it', () => {
    const cmd = REDIS.cmd(REDIS.defaultMemoryMb);
    assert.equal(cmd[cmd.indexOf('--maxmemory') + 1], '32mb');
    assert.equal(cmd[cmd.indexOf('--maxmemory-policy') + 1], 'noeviction');
    assert.equal(cmd[cmd.indexOf('--appendonly') + 1], 'yes');
  });

  it('the password goes into the environment, never into the command', () => {
    const secret = 'S3cr3t-pass_word';
    for (const k of [POSTGRES, REDIS]) {
      assert.ok(Object.values(k.env('shop-db', secret)).includes(secret));
      assert.ok(!k.cmd(256).join(' ').includes(secret));
    }
    assert.equal(POSTGRES.url('shop-db', 'a/b'), 'postgres://postgres:a%2Fb@shop-db:5432/shop_db');
  });
});
