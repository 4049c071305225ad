/**
 * The Docker build context, made from the source archive (`git archive --format=tar`):
 * validated (no absolute paths, no `..`, no hardlinks, no symlink leaving the tree or climbing
 * through another symlink, nothing beneath a symlink, only files, directories and symlinks), bounded (bytes and entries), filtered by the root `.dockerignore`
 * with Docker's own matcher, and re-packed for the engine.
 *
 * The archive is spooled to a private temp file first: `.dockerignore` may come after the
 * files it excludes in the stream, and holding a 200 MB source in memory would hurt on a Pi.
 */
import { createReadStream, createWriteStream, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import dockerignore from '@balena/dockerignore';
import { extract as tarExtract, pack as tarPack, type ExtractEvents, type Header } from 'tar-stream';
import { HiyError } from '../errors.js';
import { detect, GENERATED_DOCKERFILE, ROOT_FILE_MAX, ROOT_FILES, type BuildPlan, type DetectOptions } from './detect.js';

export interface ContextLimits {
  /** Bytes of the source archive (default 200 MiB). */
  maxBytes: number;
  /** Entries in the archive, directories included (default 100,000). */
  maxEntries: number;
  /** Where the archive is spooled (default the OS temp dir). */
  tmpDir?: string;
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = { maxBytes: 200 * 1024 * 1024, maxEntries: 100_000 };

/** Docker sends these whatever .dockerignore says (the daemon needs them; it drops them itself). */
const ALWAYS_SENT = new Set(['Dockerfile', 'dockerfile', '.dockerignore']);
const MAX_DOCKERIGNORE = 1024 * 1024;

export interface BuildContext {
  /** Entries in the source archive and how many .dockerignore dropped. */
  entries: number;
  ignored: number;
  /** The detected strategy, the Dockerfile to build and the Procfile's process types. */
  plan: BuildPlan;
  /** The re-packed tar for the engine; each call reads the spooled archive again. */
  stream(): Readable;
  /** Removes the spooled archive. */
  dispose(): Promise<void>;
}

/** One entry of an archive being read: its header and its content stream. */
type Entry = ExtractEvents['entry'][1];

const refuse = (message: string): HiyError => new HiyError('build_failed', `the source archive was refused: ${message}`);

/** `./a/b/` → `a/b`; refuses absolute paths and `..` components. */
export function entryPath(raw: string): string {
  if (raw.startsWith('/')) throw refuse(`absolute path ${JSON.stringify(raw)}`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(`path ${JSON.stringify(raw)} leaves the source tree`);
  return parts.join('/');
}

/** Checks one header; returns the clean path, or undefined for the archive's root entry. */
function checkHeader(h: Header): string | undefined {
  const path = entryPath(h.name);
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
    case 'directory':
      break;
    case 'symlink': {
      const target = h.linkname ?? '';
      if (target.startsWith('/')) throw refuse(`symlink ${path} points to the absolute path ${JSON.stringify(target)}`);
      const resolved = posix.normalize(posix.join(posix.dirname(path), target));
      if (resolved === '..' || resolved.startsWith('../')) throw refuse(`symlink ${path} points outside the source tree (${JSON.stringify(target)})`);
      break;
    }
    case 'link':
      throw refuse(`hardlink ${path} (git archives have none)`);
    default:
      throw refuse(`${path} is a ${h.type ?? 'unknown entry type'}, not a file, directory or symlink`);
  }
  return path === '' ? undefined : path;
}

/**
 * Docker extracts the context (confined to its folder) and COPY resolves links inside it, but hiy
 * does not lean on that alone: a path that goes through a symlink and then climbs with `..` can
 * resolve outside the tree although it looks inside (`a/b -> ..`, `c -> a/b/../..`), and an entry
 * beneath a symlink (`d -> /`, then `d/etc/x`) would be written through it by a naive extractor.
 * git archives never hold either.
 */
function checkSymlinkUse(paths: string[], links: Map<string, string>): void {
  const isLink = (p: string) => links.has(p);
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (isLink(prefix)) throw refuse(`${path} lies beneath the symlink ${prefix}`);
    }
  }
  for (const [path, target] of links) {
    const stack: string[] = [];
    let through: string | undefined;
    for (const p of [...posix.dirname(path).split('/'), ...target.split('/')]) {
      if (p === '' || p === '.') continue;
      if (p === '..') {
        if (through) throw refuse(`symlink ${path} climbs with ".." through another symlink (${through}): ${JSON.stringify(target)}`);
        stack.pop();
        continue;
      }
      stack.push(p);
      if (isLink(stack.join('/'))) through = stack.join('/');
    }
  }
}

async function spool(source: Readable, file: string, maxBytes: number, signal?: AbortSignal): Promise<void> {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxBytes) cb(refuse(`it is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB`));
      else cb(null, chunk);
    },
  });
  await pipeline(source, counter, createWriteStream(file, { mode: 0o600 }), signal ? { signal } : {});
}

/** Calls `each` for every entry of the tar file in order; the entry must be consumed or resumed. */
async function forEachEntry(file: string, each: (h: Header, entry: Entry) => Promise<void>, stop?: AbortSignal): Promise<void> {
  const input = createReadStream(file);
  const extract = tarExtract();
  input.on('error', (err) => extract.destroy(err));
  stop?.addEventListener('abort', () => extract.destroy(new Error('build context consumer went away')), { once: true });
  input.pipe(extract);
  try {
    for await (const entry of extract) await each(entry.header, entry);
  } finally {
    input.destroy();
  }
}

async function readAll(entry: Entry, max: number, name = '.dockerignore'): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of entry) {
    size += (c as Buffer).length;
    if (size > max) throw refuse(`${name} is larger than ${Math.round(max / 1024)} KB`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Scan {
  entries: number;
  paths: string[];
  /** Symlinks and their targets. */
  links: Map<string, string>;
  dockerignore: string | undefined;
  /** ROOT_FILES that are regular files, with their content. */
  rootFiles: Map<string, string>;
}

async function scan(file: string, limits: ContextLimits): Promise<Scan> {
  const out: Scan = { entries: 0, paths: [], links: new Map(), dockerignore: undefined, rootFiles: new Map() };
  await forEachEntry(file, async (h, entry) => {
    if (++out.entries > limits.maxEntries) throw refuse(`it has more than ${limits.maxEntries} entries`);
    const path = checkHeader(h);
    if (path !== undefined) out.paths.push(path);
    if (path !== undefined && h.type === 'symlink') out.links.set(path, h.linkname ?? '');
    const isFile = h.type === 'file' || h.type === 'contiguous-file';
    if (path === '.dockerignore' && isFile) out.dockerignore = await readAll(entry, MAX_DOCKERIGNORE);
    else if (path !== undefined && isFile && (ROOT_FILES as readonly string[]).includes(path)) {
      out.rootFiles.set(path, await readAll(entry, ROOT_FILE_MAX, path));
    } else entry.resume();
  });
  checkSymlinkUse(out.paths, out.links);
  return out;
}

/** Files the builder adds to (or replaces in) the context: the generated Dockerfile and its .dockerignore. */
type Extra = Map<string, string>;

function fileHeader(name: string, content: string): Partial<Header> & { name: string } {
  return { name, type: 'file', mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, size: Buffer.byteLength(content) };
}

function repack(file: string, keep: (path: string) => boolean, extra: Extra): Readable {
  const pack = tarPack();
  const consumerGone = new AbortController();
  pack.once('close', () => consumerGone.abort());
  forEachEntry(file, async (h, entry) => {
    const path = checkHeader(h);
    if (path === undefined || !keep(path) || extra.has(path)) {
      entry.resume();
      return;
    }
    // Fresh headers: owner root (as git archive writes it), no pax extras from the source.
    const header: Partial<Header> & { name: string } = { name: path, type: h.type === 'contiguous-file' ? 'file' : h.type, mode: h.mode ?? 0o644, mtime: h.mtime ?? new Date(0), uid: 0, gid: 0, size: h.type === 'file' || h.type === 'contiguous-file' ? (h.size ?? 0) : 0 };
    if (h.type === 'symlink') header.linkname = h.linkname ?? '';
    if (header.type !== 'file') {
      entry.resume();
      pack.entry(header);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      entry.on('error', reject);
      entry.pipe(sink);
    });
  }, consumerGone.signal).then(() => {
    for (const [name, content] of extra) pack.entry(fileHeader(name, content), content);
    pack.finalize();
  }, (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream streams are streamx streams; the engine client wants a Node stream. Destroying
  // the wrapper destroys the pack, which stops the loop above.
  return Readable.from(pack, { objectMode: false });
}

/**
 * Spools, checks and plans the context: detects the build strategy (detect.ts) and, for a
 * generated Dockerfile, adds it to the context (never to the user's repo). Throws
 * HiyError('build_failed') when the archive is refused or nothing can be built; the caller must
 * dispose() the result.
 */
export async function prepareBuildContext(source: Readable, limits: Partial<ContextLimits>, detectOpts: DetectOptions, signal?: AbortSignal): Promise<BuildContext> {
  const lim: ContextLimits = { ...DEFAULT_CONTEXT_LIMITS, ...limits };
  // Synchronous on purpose: the source must be read from this very tick. A child process's
  // stdout that nobody reads when the child exits is resumed by Node and its data discarded
  // (measured: 5 empty archives in 100 builds from `git archive` with an await in between).
  const dir = mkdtempSync(join(lim.tmpDir ?? tmpdir(), 'hiy-build-'));
  const file = join(dir, 'source.tar');
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    await spool(source, file, lim.maxBytes, signal);
    const s = await scan(file, lim).catch((err: unknown) => {
      if (err instanceof HiyError) throw err;
      throw refuse(`it is not a valid tar archive (${(err as Error).message})`);
    });
    const plan = detect({ paths: new Set(s.paths), files: s.rootFiles }, detectOpts);
    // The package is CommonJS with `factory.default = factory`; NodeNext types see the namespace.
    const ig = dockerignore.default().add(s.dockerignore ?? '');
    const keep = (path: string) => ALWAYS_SENT.has(path) || path === plan.dockerfilePath || !ig.ignores(path);
    const ignored = s.paths.filter((p) => !keep(p)).length;
    const extra: Extra = new Map();
    if (plan.generated !== undefined) {
      extra.set(GENERATED_DOCKERFILE, plan.generated);
      // The engine applies .dockerignore again: this keeps the generated file out of `COPY . .`.
      extra.set('.dockerignore', `${s.dockerignore ?? ''}\n${GENERATED_DOCKERFILE}\n.dockerignore\n`);
    }
    return { entries: s.entries, ignored, plan, stream: () => repack(file, keep, extra), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
