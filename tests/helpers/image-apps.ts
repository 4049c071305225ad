/**
 * What the image deploy tests share: build contexts for small images (busybox serving a page,
 * optionally with an /app/Procfile), and waiting for a deploy through the API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { apiClient } from '../../harness/server.js';

export const WEB_CMD = 'CMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]';

export interface Deploy { id: number; status: string; log: string; error: string | null; sha: string; image_ref: string | null; triggered_by: string }

/** A build context under `root`: a Dockerfile of `lines` plus `files` (a www/ folder is always there). */
export function imageContext(root: string, name: string, lines: string[], files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'www'), { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content);
  writeFileSync(join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
  return dir;
}

/** busybox serving `body` at / on $PORT; `extra` Dockerfile lines go before the COPY. */
export const webImageContext = (root: string, name: string, body: string, extra: string[] = []): string =>
  imageContext(root, name, ['FROM hiy-test/busybox:1', ...extra, 'COPY www /www', WEB_CMD], { 'www/index.html': body });

/** Polls a deploy until it is no longer queued or building. */
export async function waitDeploy(api: ReturnType<typeof apiClient>, app: string, id: number): Promise<Deploy> {
  for (let i = 0; i < 600; i++) {
    const d = (await api('GET', `/apps/${app}/deploys/${id}`)).body.deploy as Deploy;
    if (d.status !== 'queued' && d.status !== 'building') return d;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`deploy ${id} of ${app} did not finish`);
}
