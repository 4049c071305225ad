import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { timingSafeEqual } from 'node:crypto';
import { APP_NAME_RE } from '../apps/names.js';
import { findApp } from '../apps/repo.js';
import { notFromGit, sourceOf } from '../apps/source.js';
import type { DeployService } from '../deploy/service.js';
import type { Services } from '../services.js';

/** The last line of a deploy answer; the hook turns it into its exit code. */
export const RESULT_PREFIX = '@@hiy-result ';
const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;
const SHA_RE = /^[0-9a-f]{40}$/;
const REF_RE = /^refs\/[A-Za-z0-9._/-]{1,200}$/;

/**
 * Endpoints only the pre-receive hook calls, on the loopback listener, with the per-start hook
 * token: `POST /internal/push` (should this ref deploy?) and `POST /internal/deploy` (the
 * `git archive` tar; the answer is the deploy's output, line by line, ending with a result line).
 */
export function createPushEndpoint(s: Services, deploys: DeployService, tokenFile: string) {
  const text = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(body);
  };

  async function authorised(req: IncomingMessage): Promise<boolean> {
    // Only the hook, spawned by git on this machine, may call these: never through Caddy.
    if (req.headers['x-forwarded-for'] !== undefined || req.headers['via'] !== undefined) return false;
    const expected = Buffer.from(`Bearer ${(await readFile(tokenFile, 'utf8')).trim()}`);
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  async function decide(app: string, ref: string, newSha: string): Promise<{ deploy: boolean; message: string }> {
    const row = await findApp(s.db, app);
    if (!row) return { deploy: false, message: `app "${app}" does not exist` };
    if (sourceOf(row).kind === 'image') return { deploy: false, message: `-----> ${notFromGit(row)}` };
    if (ref !== `refs/heads/${row.branch}`) {
      return { deploy: false, message: `-----> Pushed ${ref}; hiy deploys refs/heads/${row.branch} only, so nothing was deployed` };
    }
    if (/^0+$/.test(newSha)) return { deploy: false, message: `-----> Branch ${row.branch} deleted; the running release keeps serving` };
    return { deploy: true, message: '' };
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (req.method !== 'POST' || !(await authorised(req))) return text(res, 403, 'forbidden\n');
      const url = new URL(req.url ?? '/', 'http://internal');
      const app = url.searchParams.get('app') ?? '';
      const ref = url.searchParams.get('ref') ?? '';
      const sha = url.searchParams.get('sha') ?? '';
      if (!APP_NAME_RE.test(app) || !REF_RE.test(ref) || ref.includes('..') || !SHA_RE.test(sha)) return text(res, 400, 'bad app, ref or sha\n');

      if (url.pathname === '/internal/push') {
        req.resume();
        const d = await decide(app, ref, sha);
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify(d));
      }
      if (url.pathname !== '/internal/deploy') return text(res, 404, 'not found\n');
      if (!(await decide(app, ref, sha)).deploy) return text(res, 409, 'this ref does not deploy\n');
      await receiveAndDeploy(req, res, app, sha);
    } catch (err) {
      s.log.error({ err }, 'internal push endpoint failed');
      if (!res.headersSent) text(res, 500, `${RESULT_PREFIX}failed internal error\n`);
      else res.end(`${RESULT_PREFIX}failed internal error\n`);
    }
  };

  async function receiveAndDeploy(req: IncomingMessage, res: ServerResponse, app: string, sha: string): Promise<void> {
    const dir = join(s.config.dataDir, 'sources');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${app}-${sha}-${Date.now()}.tar`);
    let size = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _e, cb) {
        size += chunk.length;
        cb(size > MAX_ARCHIVE_BYTES ? new Error('source archive larger than 1 GiB') : null, chunk);
      },
    });
    try {
      await pipeline(req, limit, createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }

    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    let clientGone = false;
    res.on('close', () => { clientGone = true; });
    const q = await deploys.enqueueBuild(app, sha, 'git', () => createReadStream(file), { cleanup: () => void rm(file, { force: true }) });
    // The deploy goes on when the pusher disconnects (Ctrl-C): only the listener goes away. The
    // answer comes once the new release serves: draining the old one goes on in the deploy log.
    const unsubscribe = q.output.subscribe((line) => { if (!clientGone) res.write(`${line}\n`); });
    const result = await q.answer;
    unsubscribe();
    if (!clientGone) res.end(`${RESULT_PREFIX}${result.ok ? 'ok' : `failed ${result.error}`}\n`);
  }
}
