import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listBackups, pruneBackups, stampOf } from './backup-files.js';
import { loadBackupConfig } from './backup-config.js';
import { runBackup } from './backup.js';
import { loadConfig } from '../config.js';
import { safeName } from './archive.js';

const DAY = 86_400_000;

function dirWith(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'hiy-bk-unit-'));
  for (const n of names) writeFileSync(join(dir, n), 'x');
  return dir;
}

describe('backup retention', () => {
  const now = new Date('2026-11-29T03:30:00Z');
  const name = (daysAgo: number) => `hiy-backup-${stampOf(new Date(now.getTime() - daysAgo * DAY))}.tar.gz.age`;

  it('removes backups older than the retention, keeps the rest, and cleans up partial files', async () => {
    const dir = dirWith([name(40), name(31), name(29), name(1), name(0), '.hiy-backup-x.partial', 'notes.txt']);
    try {
      const removed = await pruneBackups(dir, 30, now, name(0));
      assert.deepEqual(removed.sort(), [name(40), name(31)].sort());
      assert.deepEqual(readdirSync(dir).sort(), [name(29), name(1), name(0), 'notes.txt'].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never removes the newest backup, however old', async () => {
    const dir = dirWith([name(90), name(60)]);
    try {
      assert.deepEqual(await pruneBackups(dir, 30, now, 'hiy-backup-none.tar.gz.age'), [name(90)]);
      assert.deepEqual(listBackups(dir).map((b) => b.name), [name(60)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed backup leaves the backup dir as it was (no new file, no partial, old ones kept)', async () => {
    const data = mkdtempSync(join(tmpdir(), 'hiy-bk-data-'));
    const dir = dirWith([name(40)]);
    try {
      writeFileSync(join(data, 'hiy.db'), 'this is not an SQLite database, it is garbage'.repeat(200));
      const cfg = loadConfig({ HIY_DATA_DIR: data });
      const bc = loadBackupConfig({ HIY_BACKUP_DIR: dir, HIY_BACKUP_RECIPIENT: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p', HIY_BACKUP_KEEP_DAYS: '1' });
      await assert.rejects(runBackup(cfg, bc, () => undefined), /not a database|not a readable SQLite|file is not a database/i);
      assert.deepEqual(readdirSync(dir), [name(40)], 'the old backup stays, even past the retention');
    } finally {
      rmSync(data, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('backup settings', () => {
  it('refuse what they cannot use, naming the variable', () => {
    assert.throws(() => loadBackupConfig({ HIY_BACKUP_RECIPIENT: 'AGE-SECRET-KEY-1ABC' }), /HIY_BACKUP_RECIPIENT: .*not an age public key/);
    assert.throws(() => loadBackupConfig({ HIY_BACKUP_DIR: 'relative/dir' }), /HIY_BACKUP_DIR: .*absolute/);
    assert.throws(() => loadBackupConfig({ HIY_BACKUP_KEEP_DAYS: '0' }), /HIY_BACKUP_KEEP_DAYS/);
    assert.throws(() => loadBackupConfig({ HIY_BACKUP_RCLONE: '--config=/etc/shadow' }), /HIY_BACKUP_RCLONE/);
    const c = loadBackupConfig({});
    assert.equal(c.dir, '/var/backups/hiy');
    assert.equal(c.keepDays, 30);
    assert.equal(c.includeIdentity, false);
  });
});

describe('paths read from a backup', () => {
  it('must stay inside the target', () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a//b', './a', '', 'a\\b', 'a\0b']) {
      assert.throws(() => safeName(bad), /unsafe path/, JSON.stringify(bad));
    }
    assert.equal(safeName('repos/app.bundle'), 'repos/app.bundle');
    assert.equal(safeName('volumes/hiy-a-data/sub/'), 'volumes/hiy-a-data/sub');
  });
});
