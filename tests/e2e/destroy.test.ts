// Destroying an app removes its own containers and images and nothing of another app's, also when
// both apps were built from the same source (the engine's cache gives both the same image id).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';

const ID = randomBytes(3).toString('hex');
const GONE = `dst-${ID}-a`;
const KEPT = `dst-${ID}-b`;

async function imagesOf(app: string): Promise<string[]> {
  const r = await docker(['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}', '--filter', `reference=hiy/${app}`]);
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

describe('destroying an app', { timeout: 300_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    wc.write('www/index.html', `same source ${ID}\n`);
    await wc.commit('same source for both apps');
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${GONE}`);
    await cleanupByLabel(`hiy.app=${KEPT}`);
  });

  test('removes its own image and leaves an identical image of another app serving', async () => {
    for (const app of [GONE, KEPT]) {
      assert.equal((await api('POST', '/apps', { name: app, port: 8080 })).status, 201);
      const push = await wc.push(remoteUrl(hiy.url, app, hiy.token));
      assert.equal(push.code, 0, push.stderr);
    }
    const [gone, kept] = [await imagesOf(GONE), await imagesOf(KEPT)];
    assert.equal(gone.length, 1, gone.join('\n'));
    assert.equal(kept.length, 1, kept.join('\n'));
    // The premise: the engine's cache built one image for both apps.
    assert.equal(gone[0]!.split(' ')[0], kept[0]!.split(' ')[0]);

    const res = await api('DELETE', `/apps/${GONE}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(await imagesOf(GONE), [], 'the destroyed app keeps no image');
    assert.deepEqual(await imagesOf(KEPT), kept, "the other app's image is untouched");
    const ps = await docker(['ps', '-aq', '--filter', `label=hiy.app=${GONE}`]);
    assert.equal(ps.stdout.trim(), '', 'the destroyed app keeps no container');
    const answer = await curlApp(hiy, KEPT);
    assert.equal(answer.status, '200', JSON.stringify(answer));
    assert.equal(answer.body, `same source ${ID}\n`);
  });
});
