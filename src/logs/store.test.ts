import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { createLogger } from '../log.js';
import { LogStore, type CapturedLine, type StoredLine } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-logstore-'));
const NOW = '2026-01-01T00:00:00.000Z';
const log = createLogger('silent', new Writable({ write(_c, _e, cb) { cb(); } }));

const ts = (i: number) => `2026-11-29T10:00:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}.${String(i % 1000).padStart(9, '0')}Z`;
const line = (app: string, i: number, container = 'c1'): CapturedLine => ({ app, container, process: 'web', deployId: 1, stream: 'stdout', ts: ts(i), text: `line ${i}` });

describe('LogStore', { timeout: 60_000 }, () => {
  let opened: OpenedDb;

  before(async () => {
    opened = await openDatabase(join(dir, 'hiy.db'));
    for (const [i, name] of ['ring', 'other', 'gone', 'cur'].entries()) {
      await opened.db.insertInto('apps').values({ name, repo_url: null, slot_index: i, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
    }
  });
  after(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps exactly the last maxLines lines per app, numbered in order', async () => {
    const store = new LogStore(opened.db, log, { maxLines: 50 });
    await store.init();
    for (let i = 0; i < 120; i++) {
      store.add(line('ring', i));
      if (i % 7 === 0) await store.flush();
    }
    store.add(line('other', 0));
    await store.flush();
    const count = await opened.db.selectFrom('app_logs').select((eb) => eb.fn.countAll().as('n')).where('app', '=', 'ring').executeTakeFirst();
    assert.equal(Number(count?.n), 50);
    const tail = await store.tail('ring', 1000);
    assert.deepEqual(tail.map((l) => l.line), Array.from({ length: 50 }, (_, k) => `line ${70 + k}`));
    assert.deepEqual(tail.map((l) => l.seq), Array.from({ length: 50 }, (_, k) => 71 + k));
    assert.equal((await store.tail('other', 10)).length, 1, 'another app keeps its own lines');
    assert.deepEqual((await store.after('ring', 118, 10)).map((l) => l.seq), [119, 120]);
  });

  it('a batch larger than the buffer stores only its newest lines', async () => {
    const store = new LogStore(opened.db, log, { maxLines: 10 });
    await store.init();
    for (let i = 0; i < 25; i++) store.add(line('other', 1000 + i, 'c9'));
    await store.flush();
    assert.deepEqual((await store.tail('other', 100)).map((l) => l.line), Array.from({ length: 10 }, (_, k) => `line ${1015 + k}`));
  });

  it('tells subscribers at once, and reads include lines not yet written', async () => {
    const store = new LogStore(opened.db, log, { maxLines: 100, flushMs: 60_000 });
    await store.init();
    const before = (await store.tail('other', 1))[0]!.seq;
    const got: StoredLine[] = [];
    const unsubscribe = store.subscribe((ls) => got.push(...ls));
    store.add(line('other', 5000, 'c2'));
    store.add(line('other', 5001, 'c2'));
    await new Promise((r) => setImmediate(r));
    unsubscribe();
    assert.deepEqual(got.map((l) => [l.seq, l.line]), [[before + 1, 'line 5000'], [before + 2, 'line 5001']]);
    assert.deepEqual((await store.tail('other', 2)).map((l) => l.seq), [before + 1, before + 2]);
    assert.deepEqual((await store.after('other', before + 1, 10)).map((l) => l.seq), [before + 2]);
    await store.flush();
    assert.deepEqual((await store.tail('other', 3)).map((l) => l.seq), [before, before + 1, before + 2], 'no line twice once written');
  });

  it('drops lines of an app destroyed meanwhile without losing the rest of the batch', async () => {
    const store = new LogStore(opened.db, log, { maxLines: 100 });
    await store.init();
    store.add(line('gone', 1, 'cg'));
    store.add(line('other', 6000, 'c3'));
    await opened.db.deleteFrom('apps').where('name', '=', 'gone').execute();
    await store.flush();
    assert.equal((await store.tail('other', 1))[0]!.line, 'line 6000');
  });

  it('stores the cursor of the lines it wrote, counting lines with the same timestamp', async () => {
    const store = new LogStore(opened.db, log, { maxLines: 100 });
    await store.init();
    const same = { ...line('cur', 0, 'cc'), ts: ts(42) };
    store.add({ ...line('cur', 41, 'cc') });
    store.add(same);
    store.add({ ...same, text: 'twin' });
    await store.flush();
    const fresh = new LogStore(opened.db, log, { maxLines: 100 });
    assert.deepEqual(await fresh.cursor('cc'), { app: 'cur', lastTs: ts(42), sameTs: 2 });
    await fresh.pruneCursors(new Set());
    assert.equal(await new LogStore(opened.db, log, { maxLines: 100 }).cursor('cc'), undefined);
  });
});
