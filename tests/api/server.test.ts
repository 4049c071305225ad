import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hiyEntry } from '../../harness/paths.js';
import { apiClient, startHiy, testEnv } from '../../harness/server.js';

function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [hiyEntry(), 'server'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

describe('hiy server', { timeout: 90_000 }, () => {
  it('exits non-zero with a clear message on bad config', async () => {
    const t = await testEnv();
    try {
      const cases: [Record<string, string>, RegExp][] = [
        [{ HIY_HTTP_PORT: '99999' }, /^hiy: HIY_HTTP_PORT: 99999 is out of range \(1-65535\)\n$/],
        [{ HIY_TLS: 'maybe' }, /^hiy: HIY_TLS: "maybe" is not one of auto, dns, internal, off\n$/],
        [{ HIY_LISTEN: 'nowhere' }, /^hiy: HIY_LISTEN: "nowhere" is not host:port/],
        [{ HIY_ADMIN_TOKEN: 'short' }, /^hiy: HIY_ADMIN_TOKEN/],
      ];
      for (const [bad, message] of cases) {
        const res = await runServer({ ...t.env, ...bad });
        assert.notEqual(res.code, 0, JSON.stringify(bad));
        assert.match(res.stderr, message);
      }
    } finally {
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });

  it('prints a first token once when no admin token is given, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hiy-first-'));
    try {
      const first = await startHiy({ dataDir, keepDataDir: true, env: { HIY_ADMIN_TOKEN: '' } });
      const printed = /your API token \(shown once, store it now\):\s+(hiy_[A-Za-z0-9_-]{43})/.exec(first.output());
      assert.ok(printed?.[1], first.output());
      const token = printed[1];
      assert.equal((await apiClient({ url: first.url, token })('GET', '/apps')).status, 200);
      assert.equal(first.output().split(token).length - 1, 1, 'printed once, not logged');
      assert.equal(await first.stop(), 0, 'exit code 0 after SIGTERM');
      const second = await startHiy({ dataDir, keepDataDir: true, env: { HIY_ADMIN_TOKEN: '' } });
      try {
        assert.doesNotMatch(second.output(), /shown once/, 'no second token');
        assert.equal((await apiClient({ url: second.url, token })('GET', '/apps')).status, 200, 'the first token still works');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
