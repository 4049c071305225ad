import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curlApp } from '../../harness/app-http.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { launchChromium, shoot } from '../helpers/browser.js';
import { imageContext, waitDeploy as waitDeployOf, webImageContext } from '../helpers/image-apps.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { setPassword } from '../ui/dashboard-app.js';

// Apps whose source is an image: `hiy deploy` follows the tag, git pushes do not deploy, signed
// notifications (hiy's own and GitHub's registry_package) deploy new digests and nothing else, and
// `docker save | hiy images:load` for a box without a registry. Real registry, hiy, Caddy, engine.

const ID = randomBytes(3).toString('hex');
const APP = `src-${ID}`;
const GHCR_APP = `gh-${ID}`;
const LOAD_APP = `ld-${ID}`;
const OTHER_ARCH = process.arch === 'arm64' ? 'amd64' : 'arm64';


function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('apps whose source is an image', { timeout: 600_000 }, () => {
  let reg: TestRegistry;
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let ctx: string;
  let secret: string;
  const digests: Record<string, string> = {};
  const repo = () => `${reg.host}/t/${APP}`;
  const localImages: string[] = [];

  const context = (name: string, lines: string[], files: Record<string, string>) => imageContext(ctx, name, lines, files);
  const webImage = (name: string, body: string, extra: string[] = []) => webImageContext(ctx, name, body, extra);

  const waitDeploy = (app: string, id: number) => waitDeployOf(api, app, id);
  const deployCount = async (app: string) => (await api('GET', `/apps/${app}/deploys`)).body.deploys.length as number;
  const notify = (body: string, headers: Record<string, string>, app = APP) =>
    fetch(`${hiy.url}/hooks/registry/${app}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(10_000) })
      .then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));
  const notification = (over: Record<string, unknown> = {}) => JSON.stringify({ repository: repo(), tag: 'main', timestamp: Math.floor(Date.now() / 1000), ...over });

  /** `docker save <images> | hiy images:load <app>` as a user types it (or a saved archive file piped in). */
  const loadViaCli = (app: string, from: string[] | { file: string }) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const archive = Array.isArray(from) ? spawn('docker', ['save', ...from]).stdout : createReadStream(from.file);
    const cli = spawn(process.execPath, [hiyEntry(), 'images:load', app], { env: { PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token } });
    archive.pipe(cli.stdin);
    cli.stdin.on('error', () => {});
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    cli.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    cli.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  async function buildLocal(dir: string, tag: string, platform?: string): Promise<void> {
    const r = await docker(['build', '--quiet', '--label', 'hiy.test=1', ...(platform ? ['--platform', platform] : []), '--tag', tag, dir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stderr);
    localImages.push(tag);
  }

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    ctx = mkdtempSync(join(tmpdir(), 'hiy-src-ctx-'));
    reg = await startRegistry();
    digests.main1 = await reg.buildAndPush(webImage('m1', 'main 1\n'), `t/${APP}:main`);
    digests.v2 = await reg.buildAndPush(webImage('v2', 'v2\n'), `t/${APP}:v2`);
    // 3 MB: the whole upload limit of this server (HIY_IMAGE_UPLOAD_MAX_MB) is 3.
    hiy = await startHiy({ env: { HIY_IMAGE_UPLOAD_MAX_MB: '3' } });
    api = apiClient(hiy);
    assert.equal((await api('PUT', `/registries/${encodeURIComponent(reg.host)}`, { username: reg.username, password: reg.password })).status, 201);
    for (const [name, extra] of [[APP, { source: `image:${repo()}`, image_tag: 'main' }], [GHCR_APP, { source: `image:ghcr.io/acme/${GHCR_APP}`, image_tag: 'main' }], [LOAD_APP, {}]] as const) {
      const created = await api('POST', '/apps', { name, port: 8080, health_timeout_s: 20, drain_s: 1, ...extra });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
  });

  after(async () => {
    await hiy?.stop();
    await reg?.stop();
    if (ctx) rmSync(ctx, { recursive: true, force: true });
    for (const app of [APP, GHCR_APP, LOAD_APP]) await cleanupByLabel(`hiy.app=${app}`);
    if (localImages.length) await docker(['rmi', '-f', ...localImages]);
  });

  test('hiy deploy follows the tag; the app shows its source; a git push does not deploy it', async () => {
    const info = (await api('GET', `/apps/${APP}`)).body.app;
    assert.equal(info.source, `image:${repo()}`);
    assert.equal(info.image_tag, 'main');
    const r = await api('POST', `/apps/${APP}/deploys`, {});
    assert.equal(r.status, 202);
    const d = await waitDeploy(APP, r.body.deploy.id);
    assert.equal(d.status, 'success', d.log);
    assert.equal(d.image_ref, `${repo()}:main`);
    assert.equal(d.sha, digests.main1);
    assert.equal((await curlApp(hiy, APP)).body, 'main 1\n');

    const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    try {
      const before = await deployCount(APP);
      const pushed = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
      assert.match(pushed.stderr, new RegExp(`${APP} deploys images from ${repo().replace(/\./g, '\\.')}; git pushes do not deploy it`));
      assert.equal(await deployCount(APP), before, 'the push queued no deploy');
    } finally {
      wc.remove();
    }
    const bad = await api('PATCH', `/apps/${APP}`, { source: 'image:ghcr.io/me/shop:v1' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /repository alone/);
  });

  test('the webhook secret needs no repo_url for an image app, and the settings name the notification URL', async () => {
    const made = await api('POST', `/apps/${APP}/webhook`, {});
    assert.equal(made.status, 201, JSON.stringify(made.body));
    secret = made.body.webhook.secret;
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(made.body.webhook.registry_url, `${hiy.env.HIY_TLS === 'off' ? 'http' : 'https'}://hiy.localhost:${hiy.env.HIY_HTTPS_PORT}/hooks/registry/${APP}`);
    assert.equal(made.body.webhook.image, `${repo()}:main`);
  });

  test('a notification with a missing or bad signature is refused and deploys nothing', async () => {
    const before = await deployCount(APP);
    const body = notification({ digest: digests.v2 });
    const none = await notify(body, {});
    assert.equal(none.status, 401);
    const wrong = await notify(body, { 'x-hiy-signature-256': sign('not-the-secret', body) });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body.error, { code: 'unauthorized', message: 'bad signature' }, 'refusals in the API\'s error shape');
    const altered = await notify(body.replace('main', 'mainx'), { 'x-hiy-signature-256': sign(secret, body) });
    assert.equal(altered.status, 401);
    assert.equal(await deployCount(APP), before);
    const deliveries = (await api('GET', `/apps/${APP}/webhook/deliveries`)).body.deliveries;
    assert.deepEqual(deliveries.slice(0, 3).map((d: { outcome: string; event: string }) => `${d.event} ${d.outcome}`), ['registry rejected: bad signature', 'registry rejected: bad signature', 'registry rejected: missing X-Hiy-Signature-256']);
  });

  test('a signed notification deploys the digest it names; the same body again is a replay and deploys nothing', async () => {
    digests.main2 = await reg.buildAndPush(webImage('m2', 'main 2\n'), `t/${APP}:main`);
    const body = notification({ digest: digests.main2 });
    const ok = await notify(body, { 'x-hiy-signature-256': sign(secret, body), 'x-hiy-delivery': `ci-${ID}-1` });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const d = await waitDeploy(APP, ok.body.deploy_id as number);
    assert.equal(d.status, 'success', d.log);
    assert.equal(d.image_ref, `${repo()}@${digests.main2}`);
    assert.equal((await curlApp(hiy, APP)).body, 'main 2\n');

    const before = await deployCount(APP);
    const replay = await notify(body, { 'x-hiy-signature-256': sign(secret, body), 'x-hiy-delivery': `ci-${ID}-2` });
    assert.deepEqual([replay.status, replay.body.outcome], [200, 'duplicate']);
    assert.equal(await deployCount(APP), before, 'the replay deployed nothing');
  });

  test('a signed notification that is stale, for another tag or another repository deploys nothing', async () => {
    const before = await deployCount(APP);
    const stale = notification({ digest: digests.v2, timestamp: Math.floor(Date.now() / 1000) - 3600 });
    const s = await notify(stale, { 'x-hiy-signature-256': sign(secret, stale) });
    assert.equal(s.status, 400);
    assert.match((s.body.error as { message: string }).message, /timestamp is 60 min from hiy's clock/);
    const other = notification({ tag: 'v2', digest: digests.v2 });
    const o = await notify(other, { 'x-hiy-signature-256': sign(secret, other) });
    assert.deepEqual([o.status, o.body.outcome], [200, 'ignored: tag v2 (follows main)']);
    const foreign = notification({ repository: `${reg.host}/t/someone-else`, digest: digests.v2 });
    const f = await notify(foreign, { 'x-hiy-signature-256': sign(secret, foreign) });
    assert.equal(f.status, 403);
    assert.equal(await deployCount(APP), before);
    assert.equal((await curlApp(hiy, APP)).body, 'main 2\n');
  });

  test('the notify step of the GitHub Actions example in docs/image-deploys.md works as written', async () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'image-deploys.md'), 'utf8');
    const step = /\n {8}run: \|\n((?: {10}.*\n)+)/.exec(doc.slice(doc.indexOf('name: Deploy on hiy')))?.[1];
    assert.ok(step, 'the example has its notify step');
    const script = step.replace(/^ {10}/gm, '').replace('https://hiy.pi.example.com/hooks/registry/shop', `${hiy.url}/hooks/registry/${APP}`);
    digests.main3 = await reg.buildAndPush(webImage('m3', 'main 3\n'), `t/${APP}:main`);
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { env: { PATH: process.env.PATH ?? '', SECRET: secret, IMAGE: repo(), DIGEST: digests.main3!, GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '1' } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      p.on('close', (code) => resolve({ code, out, err }));
    });
    assert.equal(r.code, 0, r.out + r.err);
    const answer = JSON.parse(r.out) as { deploy_id: number };
    const d = await waitDeploy(APP, answer.deploy_id);
    assert.equal(d.status, 'success', d.log);
    assert.equal((await curlApp(hiy, APP)).body, 'main 3\n');
  });

  test("GitHub's registry_package event through the GitHub hook queues a pull of the package's digest", async () => {
    const made = await api('POST', `/apps/${GHCR_APP}/webhook`, {});
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.deepEqual(made.body.webhook.events, ['registry_package']);
    const digest = `sha256:${'c'.repeat(64)}`;
    const event = {
      action: 'published',
      registry_package: {
        name: GHCR_APP, namespace: 'acme', ecosystem: 'CONTAINER', package_type: 'CONTAINER',
        package_version: { version: digest, container_metadata: { tag: { name: 'main', digest } }, package_url: `ghcr.io/Acme/${GHCR_APP}:main` },
        registry: { type: 'CONTAINER', url: 'https://ghcr.io/acme' },
      },
      repository: { full_name: 'acme/site' },
    };
    const body = JSON.stringify(event);
    const deliver = (b: string, eventName: string, sig: string) => fetch(`${hiy.url}/hooks/github/${GHCR_APP}`, {
      method: 'POST', body: b, signal: AbortSignal.timeout(10_000),
      headers: { 'content-type': 'application/json', 'x-github-event': eventName, 'x-github-delivery': randomBytes(8).toString('hex'), 'x-hub-signature-256': sig },
    }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));
    const forged = await deliver(body, 'registry_package', sign('nope', body));
    assert.equal(forged.status, 401);
    const ok = await deliver(body, 'registry_package', sign(made.body.webhook.secret, body));
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const d = await waitDeploy(GHCR_APP, ok.body.deploy_id as number);
    assert.equal(d.image_ref, `ghcr.io/acme/${GHCR_APP}@${digest}`);
    // No registry outside the box is reachable here: the pull itself is proven against the test registry above.
    assert.equal(d.status, 'failed');
    const push = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) });
    const ignored = await deliver(push, 'push', sign(made.body.webhook.secret, push));
    assert.deepEqual([ignored.status, ignored.body.outcome], [200, `ignored: event push (the app deploys ghcr.io/acme/${GHCR_APP})`]);
  });

  test('the dashboard shows the source and each release\'s digest, and deploys an image from its form', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    assert.equal((await setPassword(hiy, password)).code, 0);
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${hiy.url}/apps/${APP}`);
      await page.fill('#password', password);
      await page.click('form[action="/login"] button[type=submit]');
      await page.waitForURL(`${hiy.url}/apps/${APP}`);
      assert.match(await page.locator('#app-source').innerText(), new RegExp(`Source: image:${repo().replace(/\./g, '\\.')}, following main`));
      assert.match(await page.locator('#current-release').innerText(), new RegExp(`${digests.main3!.slice(0, 19)}`));
      const releaseCells = await page.locator('#releases td[data-label="Commit / digest"]').allInnerTexts();
      assert.deepEqual(releaseCells, [digests.main3!.slice(0, 19), digests.main2!.slice(0, 19), digests.main1!.slice(0, 19)]);
      await shoot(page, 'app-image-source');
      await page.fill('#image-ref', `${repo()}@${digests.v2}`);
      await page.click('#deploy-image button[type=submit]');
      await page.waitForURL(new RegExp(`/apps/${APP}/deploys/\\d+$`));
      const id = Number(new URL(page.url()).pathname.split('/').pop());
      assert.equal((await waitDeploy(APP, id)).status, 'success');
      assert.equal((await curlApp(hiy, APP)).body, 'v2\n');
      await page.goto(`${hiy.url}/apps/${APP}`);
      await page.fill('#image-ref', 'Not An Image');
      await page.click('#deploy-image button[type=submit]');
      await page.waitForURL(`${hiy.url}/apps/${APP}`);
      assert.match(await page.locator('.flash').innerText(), /is not an image reference/);
    } finally {
      await browser.close();
    }
  });

  test('docker save | hiy images:load releases the image under hiy\'s name alone; the names in the archive are not applied', async () => {
    const named = `hiy-test-load/${ID}:named`;
    await buildLocal(webImage('load', 'loaded\n'), named);
    const id = (await docker(['image', 'inspect', '--format', '{{.Id}}', named])).stdout.trim();
    // Saved under a name that would replace another app's image on the box, if it were applied.
    const planted = `hiy/${APP}:planted`;
    const file = join(ctx, 'planted.tar');
    assert.equal((await docker(['tag', named, planted])).code, 0);
    assert.equal((await docker(['save', '-o', file, planted])).code, 0);
    assert.equal((await docker(['rmi', planted])).code, 0);

    const r = await loadViaCli(LOAD_APP, { file });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Loading the uploaded image[\s\S]*Released v1/);
    assert.equal((await curlApp(hiy, LOAD_APP)).body, 'loaded\n');
    const rel = (await api('GET', `/apps/${LOAD_APP}/releases`)).body.releases[0];
    assert.equal(rel.sha, id, 'the release records the image id');
    assert.equal(rel.image_ref, 'upload');
    const tags = (await docker(['image', 'inspect', '--format', '{{join .RepoTags " "}}', rel.image])).stdout.trim().split(' ').sort();
    assert.deepEqual(tags, [named, `hiy/${LOAD_APP}:${id.replace(':', '-')}`].sort(), 'hiy\'s name was added, and no other');
    assert.notEqual((await docker(['image', 'inspect', planted])).code, 0, 'the name inside the archive was not applied');
  });

  test('an upload with two images, for another platform, or past HIY_IMAGE_UPLOAD_MAX_MB is refused and changes nothing', async () => {
    const before = (await api('GET', `/apps/${LOAD_APP}/releases`)).body.current;
    await buildLocal(webImage('two-a', 'a\n'), `hiy-test-load/${ID}:a`);
    await buildLocal(webImage('two-b', 'b\n'), `hiy-test-load/${ID}:b`);
    const two = await loadViaCli(LOAD_APP, [`hiy-test-load/${ID}:a`, `hiy-test-load/${ID}:b`]);
    assert.equal(two.code, 1);
    assert.match(two.stderr, /it holds 2 images; save exactly one/);

    await buildLocal(context('arch', ['FROM scratch', 'COPY www /www'], { 'www/index.html': 'x' }), `hiy-test-load/${ID}:arch`, `linux/${OTHER_ARCH}`);
    const arch = await loadViaCli(LOAD_APP, [`hiy-test-load/${ID}:arch`]);
    assert.equal(arch.code, 1);
    assert.match(arch.stderr, new RegExp(`the uploaded image is built for linux/${OTHER_ARCH}, but this box runs`));

    await buildLocal(webImage('big', 'big\n', ['RUN dd if=/dev/urandom of=/big bs=1M count=4']), `hiy-test-load/${ID}:big`);
    const big = await loadViaCli(LOAD_APP, [`hiy-test-load/${ID}:big`]);
    assert.equal(big.code, 1);
    assert.match(big.stderr, /larger than 3 MB \(HIY_IMAGE_UPLOAD_MAX_MB\)/);

    assert.equal((await api('GET', `/apps/${LOAD_APP}/releases`)).body.current, before);
    assert.equal((await curlApp(hiy, LOAD_APP)).body, 'loaded\n');
    const left = (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', `hiy/${LOAD_APP}`])).stdout;
    assert.doesNotMatch(left, /upload-/, 'no half-loaded upload is left');
    const failed = (await api('GET', `/apps/${LOAD_APP}/deploys`)).body.deploys.filter((d: { status: string }) => d.status === 'failed');
    assert.equal(failed.length, 3, 'each refused upload is a failed deploy with its reason');
  });
});
