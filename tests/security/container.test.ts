/**
 * Inside a running app, and what comes out of it.
 * - The app's own process reports its capabilities (CapEff 0), no_new_privs, its pids and memory
 *   limits, and that no Docker socket exists; `docker exec` probes show no route to hiy's API (on
 *   the host's loopback) through the bridge gateway, nor to another app's container or its slot port.
 * - Its build prints HTML, ANSI and OSC sequences and an env var's value (plain, base64, inside a
 *   longer base64, URL-encoded, split over two writes): the push output, the stored deploy log
 *   (API, CLI, dashboard) show it redacted and without terminal escapes other than colours.
 * - Its runtime log lines with HTML/ANSI/OSC: JSON in the API, escapes stripped in the CLI,
 *   escaped HTML in the dashboard.
 * - Env values are not baked into the image (not in its config or history).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, dockerInspect, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';
import { cli, signIn, sleep, type Session } from './support.js';

const SUFFIX = randomBytes(3).toString('hex');
const APP = `sec-ct-${SUFFIX}`;
const OTHER = `sec-ct2-${SUFFIX}`;
// Characters that URL-encoding and base64 both change; long enough to be redacted.
const SECRET = `S3cr/${randomBytes(6).toString('hex')}+k=v`;
const UNUSED_SECRET = `never-in-image-${randomBytes(6).toString('hex')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const START = `#!/bin/sh
s=/www/status.txt
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status > $s
echo "pids.max=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)" >> $s
echo "memory.max=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)" >> $s
for sock in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock; do [ -e $sock ] && echo "socket $sock" >> $s; done
echo "uid=$(id -u)" >> $s
printf '<script>alert("xss")</script><img src=x onerror=alert(1)>\\n'
printf 'colour \\033[31mred\\033[0m title\\033]0;pwned-title\\007 link \\033]8;;http://evil.example/\\033\\\\click\\033]8;;\\033\\\\ clip\\033]52;c;cHduZWQ=\\007 erase\\033[2J\\033[H end\\n'
exec busybox httpd -f -v -p "$PORT" -h /www
`;

const dockerfile = () => [
  'FROM hiy-test/busybox:1',
  'COPY www /www',
  'COPY start.sh /start.sh',
  `RUN echo "plain ${SECRET}" && echo "b64 ${b64(SECRET)}" && echo "basic ${b64(`user:${SECRET}`)}" && echo "url ${encodeURIComponent(SECRET)}"`,
  `RUN printf 'split ${SECRET.slice(0, 7)}' && sleep 1 && printf '${SECRET.slice(7)} done\\n'`,
  `RUN printf '<b>bold</b> \\033]0;build-title\\007 \\033[2Jcleared \\033[32mgreen\\033[0m\\n'`,
  'ENV PORT=8080',
  'CMD ["sh", "/start.sh"]',
  '',
].join('\n');

const ESCAPES_OTHER_THAN_SGR = /\x1b(?!\[[0-9;]*m)|\x07|\x9b|\x9d/;

function assertRedacted(where: string, text: string): void {
  for (const form of [SECRET, b64(SECRET), b64(SECRET).replace(/=+$/, ''), encodeURIComponent(SECRET), b64(`user:${SECRET}`)]) {
    assert.ok(!text.includes(form), `${where} shows the secret as ${JSON.stringify(form)}`);
  }
  // Written in two pieces a second apart (two engine messages), printed as one line.
  assert.match(text, /split \[redacted\] done/, `${where}: the split value is hidden too`);
  assert.match(text, /\[redacted\]/, `${where} says what it hid`);
}

describe('inside an app container, and what comes out of it', { timeout: 420_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let wc: WorkingCopy;
  let other: WorkingCopy;
  let push: { code: number; stderr: string };
  let session: Session;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    for (const name of [APP, OTHER]) assert.equal((await api('POST', '/apps', { name, port: 8080 })).status, 201);
    assert.equal((await api('PATCH', `/apps/${APP}/env`, { vars: { SECRET_TOKEN: SECRET, UNUSED_SECRET } })).status, 200);
    other = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    other.write('www/index.html', 'other app\n');
    await other.commit('other');
    const o = await other.push(remoteUrl(hiy.url, OTHER, hiy.token));
    assert.equal(o.code, 0, o.stderr);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    wc.write('start.sh', START);
    wc.write('Dockerfile', dockerfile());
    await wc.commit('probe');
    push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
    session = await signIn(hiy, 'a dashboard password for the probe');
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    other?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
    await cleanupByLabel(`hiy.app=${OTHER}`);
  });

  const container = async (app: string) => {
    const id = (await docker(['ps', '-q', '--filter', `label=hiy.app=${app}`, '--filter', 'label=hiy.process=web'])).stdout.trim().split('\n')[0];
    assert.ok(id, `${app} has a running web container`);
    return id;
  };

  test('the app process has no capabilities, no_new_privs, its limits, and no Docker socket', async () => {
    const res = await curlApp(hiy, APP, '/status.txt');
    assert.equal(res.status, '200', JSON.stringify(res));
    const status = res.body;
    for (const cap of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'CapInh']) assert.match(status, new RegExp(`${cap}:\\s+0000000000000000`), status);
    assert.match(status, /NoNewPrivs:\s+1/);
    assert.doesNotMatch(status, /socket /, 'no Docker or containerd socket inside');
    const inspect = await dockerInspect(await container(APP));
    assert.equal(inspect.HostConfig.Privileged, false);
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.ok(inspect.HostConfig.PidsLimit > 0);
    assert.match(status, new RegExp(`pids.max=${inspect.HostConfig.PidsLimit}\\b`), status);
    assert.match(status, new RegExp(`memory.max=${inspect.HostConfig.Memory}\\b`), status);
    assert.equal(inspect.HostConfig.MemorySwap, inspect.HostConfig.Memory, 'no swap beyond the memory limit');
    assert.ok(inspect.HostConfig.NanoCpus > 0);
    assert.deepEqual(inspect.HostConfig.Binds ?? [], [], 'no host folder is mounted');
    assert.ok(!(inspect.Mounts as { Source: string }[]).some((m) => m.Source.includes('docker.sock')));
  });

  test('no route to hiy\'s API or to another app except through Caddy', async () => {
    const me = await container(APP);
    const them = await dockerInspect(await container(OTHER));
    const theirIp = Object.values(them.NetworkSettings.Networks as Record<string, { IPAddress: string }>)[0]!.IPAddress;
    const net = await dockerInspect(`hiy-${APP}`) ?? JSON.parse((await docker(['network', 'inspect', `hiy-${APP}`])).stdout)[0];
    const gateway = net.IPAM.Config[0].Gateway as string;
    const hiyPort = new URL(hiy.url).port;
    const theirSlot = Object.values(them.HostConfig.PortBindings as Record<string, { HostPort: string }[]>)[0]![0]!.HostPort;
    // busybox's static wget crashes in these images; an HTTP request over nc does the same job.
    const probe = (host: string, port: string, path: string) => docker(['exec', me, 'sh', '-c', 'printf "GET $3 HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$1" "$2"', 'probe', host, port, path], { timeoutMs: 20_000 });
    // The probe itself works: the app answers itself.
    assert.match((await probe('127.0.0.1', '8080', '/status.txt')).stdout, /NoNewPrivs/);
    const targets: [string, string, string][] = [[gateway, hiyPort, '/api/v1/health'], [theirIp, '8080', '/'], [gateway, theirSlot, '/']];
    for (const [host, port, path] of targets) {
      const r = await probe(host, port, path);
      assert.notEqual(r.code, 0, `${host}:${port} answered from inside ${APP}: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /HTTP\/1|"ok":true|other app/);
    }
    // Caddy serves the other app (the way every client reaches it).
    assert.equal((await curlApp(hiy, OTHER)).body, 'other app\n');
  });

  test('a secret printed by the build is redacted in the push output, the stored log, the API, the CLI and the dashboard', async () => {
    assertRedacted('git push output', push.stderr);
    const deploys = (await api('GET', `/apps/${APP}/deploys`)).body.deploys as { id: number }[];
    const id = deploys[0]!.id;
    const stored = (await api('GET', `/apps/${APP}/deploys/${id}`)).body.deploy.log as string;
    assertRedacted('API deploy log', stored);
    const viaCli = await cli(hiy, ['deploys:log', APP, String(id)]);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    assertRedacted('hiy deploys:log', viaCli.stdout);
    const page = await (await fetch(`${hiy.url}/apps/${APP}/deploys/${id}`, { headers: { cookie: session.cookie } })).text();
    assertRedacted('dashboard deploy page', page);
  });

  test('build output with HTML and escapes: plain in the push output, escaped in the dashboard', async () => {
    assert.match(push.stderr, /<b>bold<\/b>/);
    assert.doesNotMatch(push.stderr, ESCAPES_OTHER_THAN_SGR, 'no OSC or erase sequence reached the pusher\'s terminal');
    const id = ((await api('GET', `/apps/${APP}/deploys`)).body.deploys as { id: number }[])[0]!.id;
    const page = await (await fetch(`${hiy.url}/apps/${APP}/deploys/${id}`, { headers: { cookie: session.cookie } })).text();
    assert.match(page, /&lt;b&gt;bold&lt;\/b&gt;  cleared green/);
    assert.doesNotMatch(page, /<b>bold<\/b>|\x1b|\x07/);
    assert.match(push.stderr, /remote:\s+<b>bold<\/b>  cleared \x1b\[32mgreen\x1b\[0m|remote:\s+<b>bold<\/b>  cleared green/);
  });

  test('runtime log lines with HTML, ANSI and OSC: JSON in the API, no escapes in the CLI, escaped in the dashboard', async () => {
    let lines: { text: string }[] = [];
    for (let i = 0; i < 60 && !lines.some((l) => l.text.includes('pwned-title')); i++) {
      await sleep(500);
      lines = (await api('GET', `/apps/${APP}/logs`)).body.lines ?? [];
    }
    const hostile = lines.find((l) => l.text.includes('pwned-title'));
    assert.ok(hostile, `the app's output reached the log store: ${JSON.stringify(lines.slice(-5))}`);
    assert.ok(lines.some((l) => l.text.includes('<script>alert("xss")</script>')), 'the API hands the text back as data (JSON)');

    const out = await cli(hiy, ['logs', APP]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /<script>alert/);
    assert.match(out.stdout, /colour \x1b\[31mred\x1b\[0m title/, 'colours are kept');
    assert.doesNotMatch(out.stdout, ESCAPES_OTHER_THAN_SGR, 'no OSC, erase or BEL reaches the terminal');
    assert.doesNotMatch(out.stdout, /pwned-title|evil\.example|cHduZWQ/);

    const page = await (await fetch(`${hiy.url}/apps/${APP}/logs`, { headers: { cookie: session.cookie } })).text();
    assert.match(page, /&lt;script&gt;alert\(&quot;xss&quot;\)&lt;\/script&gt;/);
    assert.doesNotMatch(page, /<script>alert|<img src=x|onerror=alert\(1\)>|\x1b|evil\.example|pwned-title/);
  });

  test('env values are not baked into the image; the container gets them at run time', async () => {
    const inspect = await dockerInspect(await container(APP));
    const image = inspect.Config.Image as string;
    const imageJson = (await docker(['image', 'inspect', image])).stdout;
    const history = (await docker(['history', '--no-trunc', image])).stdout;
    for (const text of [imageJson, history]) assert.ok(!text.includes(UNUSED_SECRET), 'an env value is in the image');
    assert.ok((inspect.Config.Env as string[]).includes(`UNUSED_SECRET=${UNUSED_SECRET}`));
  });
});
