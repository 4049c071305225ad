/**
 * The registry the nodes pull app images from: Debian's `docker-registry` (distribution 2.8),
 * run by hiy as a child process (its Debian service does not start under apt here), on its own
 * port, TLS from hiy's registry CA, htpasswd auth. Retention: tags of releases hiy no longer
 * keeps are deleted through the registry's API, then `garbage-collect` frees their blobs.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { REGISTRY_USER, type PreparedRegistry } from './registry-files.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export interface RegistryAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export class RegistryServer {
  private child: ChildProcess | undefined;

  constructor(private readonly r: PreparedRegistry, private readonly log: Logger, private readonly bin = 'docker-registry') {}

  get address(): string {
    return this.r.address;
  }

  /** Whether the child process runs (it may have exited or been killed since it started). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts `docker-registry serve`; resolves once it answers over TLS (401 without credentials). */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.child) return;
    const out = openSync(join(this.r.files.dir, 'registry.log'), 'a');
    const child = spawn(this.bin, ['serve', this.r.files.config], { stdio: ['ignore', out, out] });
    this.child = child;
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `exited (${signal ?? code})`;
      if (this.child === child) this.child = undefined;
      this.log.warn({ code, signal }, 'the nodes\' registry exited');
    });
    child.once('error', (err) => { exited = err.message; });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new HiyError('unavailable', `the nodes' registry did not start: ${exited} (see ${join(this.r.files.dir, 'registry.log')})`);
      const answer = await this.call('GET', '/v2/', { auth: false }).catch(() => undefined);
      if (answer?.status === 401) return;
      if (Date.now() > deadline) throw new HiyError('unavailable', `the nodes' registry did not answer on ${this.r.address} within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await Promise.race([gone, sleep(5000).then(() => child.kill('SIGKILL'))]);
  }

  /** One HTTPS request to the registry, trusting only hiy's registry CA. */
  call(method: string, path: string, opts: { auth?: boolean; accept?: string } = {}): Promise<RegistryAnswer> {
    const [host, port] = splitAddress(this.r.address);
    const headers: Record<string, string> = {};
    if (opts.auth !== false) headers.authorization = `Basic ${Buffer.from(`${REGISTRY_USER}:${this.r.password}`).toString('base64')}`;
    if (opts.accept) headers.accept = opts.accept;
    return new Promise((resolve, reject) => {
      const req = request({ host, port, method, path, headers, ca: this.r.caPem, servername: /^[\d.]+$|:/.test(host) ? undefined : host, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { if (body.length < 1 << 20) body += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  /** Deletes every tag of `repository` not in `keep` (by manifest digest), then frees unreferenced blobs. */
  async prune(repository: string, keep: Set<string>): Promise<string[]> {
    const list = await this.call('GET', `/v2/${repository}/tags/list`);
    if (list.status === 404) return [];
    if (list.status !== 200) throw new HiyError('unavailable', `registry tags of ${repository}: HTTP ${list.status}`);
    const tags = ((JSON.parse(list.body) as { tags?: string[] | null }).tags ?? []);
    const keptDigests = new Set<string>();
    const digestOf = async (tag: string) => String((await this.call('HEAD', `/v2/${repository}/manifests/${tag}`, { accept: MANIFEST_TYPES })).headers['docker-content-digest'] ?? '');
    for (const t of tags.filter((t) => keep.has(t))) keptDigests.add(await digestOf(t));
    const removed: string[] = [];
    for (const t of tags.filter((t) => !keep.has(t))) {
      const digest = await digestOf(t);
      // Two tags of one image: the kept one holds it.
      if (!digest || keptDigests.has(digest)) continue;
      const del = await this.call('DELETE', `/v2/${repository}/manifests/${digest}`);
      if (del.status === 202 || del.status === 404) removed.push(t);
      else throw new HiyError('unavailable', `deleting ${repository}:${t} from the registry: HTTP ${del.status}`);
    }
    if (removed.length > 0) await this.garbageCollect();
    return removed;
  }

  /** `docker-registry garbage-collect --delete-untagged`: hiy runs it right after its own deletes, between pushes. */
  garbageCollect(): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(this.bin, ['garbage-collect', '--delete-untagged', this.r.files.config], { timeout: 300_000, maxBuffer: 16 << 20 }, (err, _o, stderr) => {
        if (err) reject(new HiyError('unavailable', `registry garbage-collect failed: ${String(stderr).trim().slice(-500)}`, { cause: err }));
        else resolve();
      });
    });
  }
}

function splitAddress(address: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new HiyError('internal', `not host:port: ${address}`);
  return [m[1]!, Number(m[2])];
}
