// Dashboard speed and weight with 15 deployed apps: time to first byte of the apps page and the
// bytes a browser loads for it (HTML + CSS + scripts; the dashboard has no images).
// Run: node dist/bench/dashboard.js [apps, default 15] [--no-deploy]
// Targets (issue 8): apps page TTFB < 50 ms, page weight < 100 KB. Exits 1 when either is missed.
import { request } from 'node:http';
import SQLite from 'better-sqlite3';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../harness/server.js';
import { remoteUrl, WorkingCopy } from '../harness/git.js';
import { repoRoot } from '../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../harness/docker.js';
import { ensureBusyboxImage } from '../harness/images.js';

const TTFB_TARGET_MS = 50;
const WEIGHT_TARGET_KB = 100;
const count = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? '15');
const deployApps = !process.argv.includes('--no-deploy');
const PASSWORD = 'bench password 0123456789';

interface Answer { status: number; ttfbMs: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** One GET; TTFB is from sending the request to the response headers (node:http, one fresh connection each). */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(url, { headers, agent: false }, (res) => {
      const ttfbMs = Number(process.hrtime.bigint() - started) / 1e6;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ttfbMs, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ttfbMs: 0, headers: res.headers, body: Buffer.alloc(0) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An hour of an app in the metrics table as the sampler leaves it: 360 raw 10 s points and their 60 one-minute folds. */
function fillMetrics(dbFile: string, apps: string[]): void {
  const db = new SQLite(dbFile);
  db.pragma('busy_timeout = 5000');
  const now = Math.floor(Date.now() / 1000);
  const insert = db.prepare('insert into app_metrics (app, res, t, cpu_pct, memory_bytes) values (?, ?, ?, ?, ?)');
  const start = Math.floor((now - 3600) / 60) * 60;
  db.transaction(() => {
    for (const [k, app] of apps.entries()) {
      const cpu = (i: number) => Math.round((5 + 4 * Math.sin((i + k) / 9) + (i % 7)) * 10) / 10;
      const mem = (i: number) => Math.round((40 + k + 8 * Math.sin(i / 30)) * 1024 * 1024);
      for (let i = 0; i < 360; i++) insert.run(app, 0, start + i * 10, cpu(i), mem(i));
      for (let m = 0; m < 60; m++) insert.run(app, 60, start + m * 60, cpu(m * 6), mem(m * 6));
    }
  })();
  db.close();
}

const cookieOf = (a: Answer, name: string): string | undefined => {
  const set = a.headers['set-cookie'];
  return (Array.isArray(set) ? set : []).map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${name}=`));
};

async function signIn(h: HiyProcess): Promise<string> {
  const form = await get(`${h.url}/login`);
  const login = cookieOf(form, 'hiy_login')!;
  const token = /name="_login" value="([^"]+)"/.exec(form.body.toString())![1]!;
  const res = await post(`${h.url}/login`, `_login=${token}&next=%2F&password=${encodeURIComponent(PASSWORD)}`, { cookie: login, origin: h.url });
  const session = cookieOf(res, 'hiy_session');
  if (res.status !== 303 || !session) throw new Error(`sign-in failed: HTTP ${res.status}`);
  return session;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { min: s[0]!, median: at(0.5), p95: at(0.95), max: s[s.length - 1]! };
};
const ms = (n: number) => n.toFixed(1).padStart(7);
const kb = (n: number) => (n / 1024).toFixed(1).padStart(7);
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function main(): Promise<number> {
  await ensureDocker();
  if (deployApps) await ensureBusyboxImage();
  const h = await startHiy();
  const api = apiClient(h);
  const names = Array.from({ length: count }, (_, i) => `bench-dash-${String(i + 1).padStart(2, '0')}`);
  const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  try {
    if ((await api('PUT', '/dashboard/password', { password: PASSWORD })).status !== 200) throw new Error('could not set the password');
    const t0 = Date.now();
    let deployed = 0;
    for (const name of names) {
      const r = await api('POST', '/apps', { name, port: 8080, drain_s: 1 });
      if (r.status !== 201) throw new Error(`create ${name}: ${JSON.stringify(r.body)}`);
      if (deployApps) {
        const p = await wc.push(remoteUrl(h.url, name, h.token));
        // Docker's default address pools hold about 30 networks (one per app), shared with
        // whatever else runs on the engine: measure with what fits rather than not at all.
        if (p.code !== 0 && /non-overlapping IPv4 address pool/.test(p.stderr)) continue;
        if (p.code !== 0) throw new Error(`push ${name}: ${p.stderr}`);
        deployed++;
      }
    }
    process.stdout.write(`${count} apps created${deployApps ? `, ${deployed} deployed (busybox httpd)${deployed < count ? '; the others found no free Docker network' : ''}` : ''} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    fillMetrics(join(h.dataDir, 'hiy.db'), names);
    process.stdout.write('an hour of 10 s CPU/memory samples written for each app (what the sparklines draw after an hour)\n\n');
    const cookie = await signIn(h);
    const page = (path: string, extra: Record<string, string> = {}) => get(`${h.url}${path}`, { cookie, ...extra });

    // The first view starts the dashboard's container watch (one engine list + an inspect each).
    const first = [(await page('/')).ttfbMs];
    for (let i = 0; i < 5; i++) await page('/');
    const warm: number[] = [];
    for (let i = 0; i < 50; i++) warm.push((await page('/')).ttfbMs);
    // Statuses follow Docker's events: an idle pause costs nothing (there is no cache to expire).
    const cold: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(16);
      cold.push((await page('/')).ttfbMs);
    }
    const appPage: number[] = [];
    for (let i = 0; i < 20; i++) appPage.push((await page(`/apps/${names[0]}`)).ttfbMs);
    const rows: number[] = [];
    for (let i = 0; i < 20; i++) rows.push((await page('/apps/rows', { 'hx-request': 'true' })).ttfbMs);

    process.stdout.write('TTFB (ms)                                    min  median     p95     max\n');
    const line = (name: string, xs: number[]) => {
      const s = stats(xs);
      process.stdout.write(`${name.padEnd(40)}${ms(s.min)} ${ms(s.median)} ${ms(s.p95)} ${ms(s.max)}\n`);
    };
    line('apps page, first view after start (1)', first);
    line(`apps page, ${count} apps (50 in a row)`, warm);
    line('apps page, after 16 s idle (3)', cold);
    line('app page (20)', appPage);
    line('apps rows fragment, htmx refresh (20)', rows);

    const html = (await page('/')).body;
    const assetUrls = [...html.toString().matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    const parts: { name: string; raw: number; gz: number }[] = [{ name: 'apps page HTML', raw: html.length, gz: gzipSync(html).length }];
    for (const u of assetUrls) {
      const raw = (await get(`${h.url}${u}`)).body.length;
      const gz = (await get(`${h.url}${u}`, { 'accept-encoding': 'gzip' })).body.length;
      parts.push({ name: u.replace(/^\/assets\//, ''), raw, gz });
    }
    const total = { raw: parts.reduce((a, p) => a + p.raw, 0), gz: parts.reduce((a, p) => a + p.gz, 0) };
    process.stdout.write('\nPage weight (KB)                          uncompressed  gzip (as sent)\n');
    for (const p of [...parts, { name: 'total', ...total }]) process.stdout.write(`${p.name.padEnd(40)}${kb(p.raw)}       ${kb(p.gz)}\n`);

    const ttfbOk = stats(warm).median < TTFB_TARGET_MS && stats(cold).median < TTFB_TARGET_MS;
    const weightOk = total.raw / 1024 < WEIGHT_TARGET_KB;
    process.stdout.write(`\nTargets: TTFB < ${TTFB_TARGET_MS} ms ${ttfbOk ? 'met' : 'MISSED'} (median, in a row and after idling); weight < ${WEIGHT_TARGET_KB} KB uncompressed ${weightOk ? 'met' : 'MISSED'}.\n`);
    return ttfbOk && weightOk ? 0 : 1;
  } finally {
    await h.stop();
    wc.remove();
    for (const name of names) await cleanupByLabel(`hiy.app=${name}`);
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
