/**
 * A fresh install's dashboard in Chromium against a real hiy, Docker and Caddy: the empty apps
 * page leads to the create-app form, a refused name keeps what was typed, the new app's page says
 * how to deploy it (the git remote line), and after a push the app page toggles maintenance mode
 * and stops and starts the app, checked through Caddy as a visitor sees it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';
import { shoot, signedInBrowser } from '../helpers/browser.js';
import { setPassword } from './dashboard-app.js';

const APP = `fh-${randomBytes(3).toString('hex')}`;
const PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;

describe('dashboard: a fresh install\'s first app in Chromium', { timeout: 300_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let browser: Browser;
  let page: Page;
  let wc: WorkingCopy | undefined;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    const pw = await setPassword(hiy, PASSWORD);
    assert.equal(pw.code, 0, pw.out);
    ({ browser, page } = await signedInBrowser(hiy.url, PASSWORD));
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('the empty apps page explains the first push and links to the create form', async () => {
    const empty = page.locator('#empty-apps');
    assert.match(await empty.innerText(), /No apps yet/);
    assert.match(await empty.innerText(), /git push hiy main/);
    await shoot(page, 'first-hour-empty');
    await page.click('#empty-new-app');
    await page.waitForURL(`${hiy.url}/new-app`);
  });

  test('a refused name says why and keeps what was typed; a good one makes the app and shows the next steps', async () => {
    await page.fill('#app-name', 'api');
    await page.fill('#app-port', '8080');
    await page.click('#new-app button[type=submit]');
    assert.match(await page.locator('#new-app-error').innerText(), /reserved/);
    assert.equal(await page.inputValue('#app-port'), '8080', 'the port typed is kept');
    assert.equal((await api('GET', '/apps')).body.apps.length, 0, 'nothing was created');

    await page.fill('#app-name', APP);
    await page.click('#new-app button[type=submit]');
    await page.waitForURL(`${hiy.url}/apps/${APP}`);
    assert.match(await page.locator('.flash').innerText(), new RegExp(`Created ${APP}`));
    const made = (await api('GET', `/apps/${APP}`)).body.app;
    assert.match(made.git_remote, new RegExp(`^https://hiy\\.localhost:\\d+/git/${APP}\\.git$`));
    assert.equal(await page.inputValue('#next-remote'), `git remote add hiy ${made.git_remote}`);
    assert.equal(await page.inputValue('#next-push'), 'git push hiy main');
    await shoot(page, 'first-hour-created');
    assert.deepEqual([made.port, made.status], [8080, 'no_release']);
  });

  test('after a push: maintenance on and off, stop and start, from the app page, as a visitor sees it', async () => {
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
    await deployEnded(api, APP);
    assert.equal((await curlApp(hiy, APP)).status, '200');

    await page.goto(`${hiy.url}/apps/${APP}`);
    assert.equal(await page.locator('#next-remote').count(), 0, 'next steps are gone once deployed');
    await page.click('#maintenance-toggle');
    await page.waitForURL(`${hiy.url}/apps/${APP}`);
    assert.match(await page.locator('#app-state').innerText(), /Maintenance mode is on/);
    const down = await curlApp(hiy, APP);
    assert.equal(down.status, '503');
    assert.match(down.body, /Down for maintenance/);
    await shoot(page, 'first-hour-maintenance');
    await page.click('#maintenance-toggle');
    await page.waitForURL(`${hiy.url}/apps/${APP}`);
    assert.equal((await curlApp(hiy, APP)).status, '200');

    await page.click('#ps-toggle');
    await page.waitForURL(`${hiy.url}/apps/${APP}`);
    assert.match(await page.locator('.flash').innerText(), /Stopped web/);
    assert.equal(await page.locator('#app-status').innerText(), 'stopped');
    assert.match((await curlApp(hiy, APP)).body, /App stopped/);
    await page.click('#ps-toggle');
    await page.waitForURL(`${hiy.url}/apps/${APP}`);
    assert.match(await page.locator('.flash').innerText(), /Started web/);
    assert.equal((await curlApp(hiy, APP)).status, '200');
    assert.equal((await api('GET', `/apps/${APP}`)).body.app.status, 'running');
  });
});
