import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { createSession, endSession, findSession, pruneSessions, sessionExpired } from './sessions.js';
import { setDashboardPassword } from './password.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-sessions-'));
let opened: OpenedDb;
before(async () => { opened = await openDatabase(join(dir, 'hiy.db')); });
after(async () => { await opened.close(); rmSync(dir, { recursive: true, force: true }); });

const policy = { idleMs: 60 * 60_000, absoluteMs: 24 * 3600_000 };
const at = (iso: string) => new Date(iso);

describe('dashboard sessions', { timeout: 60_000 }, () => {
  it('get a fresh 256-bit id each time, and only its hash is stored', async () => {
    const a = await createSession(opened.db, { ip: '127.0.0.1', userAgent: 'test' });
    const b = await createSession(opened.db, { ip: '127.0.0.1', userAgent: 'test' });
    assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.id, b.id);
    const rows = await opened.db.selectFrom('dashboard_sessions').select('id_hash').execute();
    assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.id_hash) && r.id_hash !== a.id && r.id_hash !== b.id));
    assert.ok(await findSession(opened.db, a.id, policy));
  });

  it('end after the idle limit, and the expired row is deleted', async () => {
    const { id } = await createSession(opened.db, {}, at('2026-01-01T00:00:00Z'));
    assert.ok(await findSession(opened.db, id, policy, at('2026-01-01T00:59:00Z')), 'within the idle limit');
    // That request moved last_seen_at to 00:59: another 59 minutes are fine, 61 are not.
    assert.ok(await findSession(opened.db, id, policy, at('2026-01-01T01:58:00Z')));
    assert.equal(await findSession(opened.db, id, policy, at('2026-01-01T03:00:00Z')), undefined);
    assert.equal(await findSession(opened.db, id, policy, at('2026-01-01T03:00:01Z')), undefined);
  });

  it('end after the absolute limit however active they are', async () => {
    const { id } = await createSession(opened.db, {}, at('2026-02-01T00:00:00Z'));
    for (let h = 1; h < 24; h++) assert.ok(await findSession(opened.db, id, policy, at(`2026-02-01T${String(h).padStart(2, '0')}:00:00Z`)), `hour ${h}`);
    assert.equal(await findSession(opened.db, id, policy, at('2026-02-02T00:00:01Z')), undefined);
    assert.equal(sessionExpired({ created_at: '2026-02-01T00:00:00Z', last_seen_at: '2026-02-01T23:59:59Z' }, policy, at('2026-02-02T00:00:01Z')), true);
  });

  it('refuse malformed and unknown ids without a lookup error', async () => {
    for (const bad of [undefined, '', 'short', 'x'.repeat(43), `${'a'.repeat(42)}!`]) assert.equal(await findSession(opened.db, bad, policy), undefined);
  });

  it('end at logout, and all end when the password is set', async () => {
    const a = await createSession(opened.db, {});
    await endSession(opened.db, a.id);
    assert.equal(await findSession(opened.db, a.id, policy), undefined);
    const b = await createSession(opened.db, {});
    const { sessionsEnded } = await setDashboardPassword(opened.db, 'correct horse battery');
    assert.ok(sessionsEnded >= 1);
    assert.equal(await findSession(opened.db, b.id, policy), undefined);
  });

  it('are pruned when expired', async () => {
    await createSession(opened.db, {}, at('2020-01-01T00:00:00Z'));
    const live = await createSession(opened.db, {});
    assert.ok((await pruneSessions(opened.db, policy)) >= 1);
    assert.ok(await findSession(opened.db, live.id, policy));
  });
});
