/**
 * The dashboard's add-ons, in Chromium against a real hiy with a real Redis add-on (the stand-in
 * of the official image, tests/helpers/debian-images.ts): the app page lists it with its status,
 * size and the variable it is attached as, and its dump downloads as an RDB file; the env page
 * shows the managed variable without change or remove; the password is on no page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureRedisImage } from '../helpers/debian-images.js';
import { shoot, signedInBrowser } from '../helpers/browser.js';
import { setPassword } from './dashboard-app.js';

const tag = randomBytes(3).toString('hex');
const APP = `dadd-${tag}`;
const ADDON = `dadd-${tag}-kv`;
const PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;

describe('dashboard: an app\'s add-ons in Chromium', { timeout: 300_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let secret = '';

  before(async () => {
    await ensureDocker();
    await ensureRedisImage();
    hiy = await startHiy({ startTimeoutMs: 60_000 });
    api = apiClient(hiy);
    const pw = await setPassword(hiy, PASSWORD);
    assert.equal(pw.code, 0, pw.out);
    assert.equal((await api('POST', '/apps', { name: APP })).status, 201);
    // An app without a release: the attach needs no restart, so no build is needed here.
    const created = await api('POST', '/addons', { kind: 'redis', name: ADDON, app: APP, as: 'CACHE' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    secret = decodeURIComponent(new URL((await api('GET', `/addons/${ADDON}?reveal=true`)).body.addon.url as string).password);
    assert.ok(secret.length >= 24);
    // Something to dump.
    assert.equal((await docker(['exec', `hiy-addon.${ADDON}`, 'redis-cli', 'set', 'dash-key', 'dash-value'])).stdout.trim(), 'OK');
    ({ browser, ctx, page } = await signedInBrowser(hiy.url, PASSWORD, { acceptDownloads: true }));
  });

  after(async () => {
    await browser?.close();
    if (hiy) {
      await api('DELETE', `/addons/${ADDON}?detach=true`).catch(() => undefined);
      await hiy.stop();
    }
    await cleanupByLabel(`hiy.addon=${ADDON}`);
    await docker(['volume', 'rm', '-f', `hiy-addon.${ADDON}`]);
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('the app page lists the add-on: status, kind, version, size, attached as; the password is not on it', async () => {
    await page.goto(`${hiy.url}/apps/${APP}`);
    const row = page.locator(`#addons tr[data-addon="${ADDON}"]`);
    await row.waitFor();
    assert.equal(await row.locator('.badge').innerText(), 'running');
    assert.match(await row.locator('td[data-label="Add-on"]').innerText(), new RegExp(`${ADDON}\\s+redis`));
    assert.match(await row.locator('td[data-label="Version"]').innerText(), /^\d+\.\d+/);
    assert.match(await row.locator('td[data-label="Size"]').innerText(), /\d+(\.\d+)? ?(B|KB|KiB|MB|MiB)/);
    assert.equal(await row.locator('td[data-label="Attached as"]').innerText(), 'CACHE_URL');
    assert.ok(!(await page.content()).includes(secret), 'the password is not in the page');
    await shoot(page, 'app-addons');
  });

  test('"Download dump" downloads the add-on\'s RDB snapshot', async () => {
    await page.goto(`${hiy.url}/apps/${APP}`);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.click(`#addons tr[data-addon="${ADDON}"] a[download]`),
    ]);
    assert.match(download.suggestedFilename(), new RegExp(`^${ADDON}-\\d{8}T\\d{6}Z\\.rdb$`));
    const file = await download.path();
    assert.ok(file, await download.failure() ?? 'no file');
    const rdb = readFileSync(file);
    assert.equal(rdb.subarray(0, 5).toString(), 'REDIS');
    assert.ok(rdb.includes(Buffer.from('dash-value')), 'the dump holds the key just written');
  });

  test('the env page shows the managed variable, masked, without change or remove', async () => {
    await page.goto(`${hiy.url}/apps/${APP}/env`);
    const row = page.locator(`#env-managed tr[data-key="CACHE_URL"]`);
    await row.waitFor();
    assert.equal(await row.locator('td[data-label="Add-on"]').innerText(), ADDON);
    assert.equal(await row.locator('form, button, input').count(), 0, 'no control changes a managed variable');
    assert.ok(!(await page.content()).includes(secret), 'the password is not in the page');
  });

  test('a signed-out browser gets no dump', async () => {
    const anon = await browser.newContext();
    const res = await anon.request.get(`${hiy.url}/addons/${ADDON}/dump`, { maxRedirects: 0 });
    assert.notEqual(res.status(), 200);
    assert.ok(!(await res.body()).subarray(0, 5).equals(Buffer.from('REDIS')));
    await anon.close();
  });
});
