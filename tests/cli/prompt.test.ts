import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/commands.js';
import type { Io } from '../../src/cli/io.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

// What only a terminal sees (typed confirmation, hidden token): runCli in-process with a stdin that
// says it is a TTY, against a real server.

let h: HiyProcess;
let home: string;
before(async () => { h = await startHiy(); home = mkdtempSync(join(tmpdir(), 'hiy-prompt-home-')); });
after(async () => { await h?.stop(); if (home) rmSync(home, { recursive: true, force: true }); });

function tty(typed: string): { io: Io; out: () => string; err: () => string } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  setTimeout(() => stdin.write(typed), 50);
  return { io: { stdin, stdout, stderr }, out: () => out, err: () => err };
}

describe('CLI prompts on a terminal', { timeout: 60_000 }, () => {
  it('destroys after the app name is typed, and not after another', async () => {
    const api = apiClient(h);
    assert.equal((await api('POST', '/apps', { name: 'hone-typed' })).status, 201);
    const env = { HIY_URL: h.url, HIY_TOKEN: h.token, HOME: home };

    const wrong = tty('typo\n');
    assert.equal(await runCli(['destroy', 'hone-typed'], env, wrong.io), 1);
    assert.match(wrong.err(), /Type the app name \(hone-typed\) to confirm: /);
    assert.match(wrong.err(), /hiy: confirmation "typo" does not match hone-typed: nothing destroyed/);
    assert.equal((await api('GET', '/apps/hone-typed')).status, 200);

    const right = tty('hone-typed\r');
    assert.equal(await runCli(['destroy', 'hone-typed'], env, right.io), 0, right.err());
    assert.equal(right.out(), 'Destroyed hone-typed\n');
    assert.equal((await api('GET', '/apps/hone-typed')).status, 404);
  });

  it('reads the login token without echoing it', async () => {
    const t = tty(`${h.token}\n`);
    assert.equal(await runCli(['login', '--url', h.url], { HOME: home }, t.io), 0, t.err());
    assert.match(t.err(), /API token for http:\/\/127\.0\.0\.1:\d+: \n$/);
    assert.ok(!t.err().includes(h.token) && !t.out().includes(h.token), 'the token is not echoed');
    assert.equal(JSON.parse(readFileSync(join(home, '.config', 'hiy', 'config.json'), 'utf8')).token, h.token);
  });
});
