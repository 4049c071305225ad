import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from './command.js';
import { appOfRemoteUrl, withApp } from './app-arg.js';
import { UsageError } from './errors.js';

const cmd = (args: [number, number], notApp?: RegExp): Command => ({ usage: '<app>', summary: '', args, ...(notApp ? { notApp } : {}), run: async () => {} });

describe('which app a command is for', () => {
  let repo: string;
  let bare: string;
  before(() => {
    repo = mkdtempSync(join(tmpdir(), 'hiy-app-arg-'));
    bare = mkdtempSync(join(tmpdir(), 'hiy-app-arg-none-'));
    execFileSync('git', ['init', '-q', repo]);
    execFileSync('git', ['-C', repo, 'remote', 'add', 'hiy', 'https://hiy.example.com/git/blog.git']);
  });
  after(() => { rmSync(repo, { recursive: true, force: true }); rmSync(bare, { recursive: true, force: true }); });

  it('reads the app from a remote URL', () => {
    assert.equal(appOfRemoteUrl('https://hiy.example.com/git/blog.git'), 'blog');
    assert.equal(appOfRemoteUrl('http://127.0.0.1:3000/git/my-app.git/'), 'my-app');
    assert.equal(appOfRemoteUrl('https://github.com/me/blog.git'), undefined);
  });

  it('takes -a, then an app-shaped first argument, then the hiy remote', async () => {
    assert.deepEqual(await withApp(cmd([1, 1]), [], 'shop', repo), ['shop']);
    assert.deepEqual(await withApp(cmd([1, 1]), ['shop'], undefined, repo), ['shop']);
    assert.deepEqual(await withApp(cmd([1, 1]), [], undefined, repo), ['blog']);
    // env:set KEY=value..., deploys:log 12, env:get KEY: the first argument is not an app.
    assert.deepEqual(await withApp(cmd([2, Infinity]), ['A=1', 'B=2'], undefined, repo), ['blog', 'A=1', 'B=2']);
    assert.deepEqual(await withApp(cmd([2, 2]), ['12'], undefined, repo), ['blog', '12']);
    assert.deepEqual(await withApp(cmd([1, 2]), ['DATABASE_URL'], undefined, repo), ['blog', 'DATABASE_URL']);
    assert.deepEqual(await withApp(cmd([1, 2]), ['shop'], undefined, repo), ['shop']);
    // rollback v3: app-shaped, but what the command takes next.
    assert.deepEqual(await withApp(cmd([1, 2], /^v?\d+$/), ['v3'], undefined, repo), ['blog', 'v3']);
    // No room for another argument: left for the server to judge ("invalid app name").
    assert.deepEqual(await withApp(cmd([1, 1]), ['Bad_Name'], undefined, repo), ['Bad_Name']);
  });

  it('says what to do outside a repository with a hiy remote', async () => {
    await assert.rejects(withApp(cmd([1, 1]), [], undefined, bare), (e: Error) => e instanceof UsageError && /missing <app>: pass it, or -a <app>/.test(e.message));
    execFileSync('git', ['init', '-q', bare]);
    execFileSync('git', ['-C', bare, 'remote', 'add', 'hiy', 'https://github.com/me/blog.git']);
    await assert.rejects(withApp(cmd([1, 1]), [], undefined, bare), /the "hiy" git remote \(https:\/\/github.com\/me\/blog.git\) names no hiy app/);
  });
});
