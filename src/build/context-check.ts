/**
 * What happens to a spooled source archive before the engine sees it, all in a worker thread
 * (context-worker.ts): every entry is validated (no absolute paths, no `..`, no hardlinks, no
 * symlink leaving the tree or climbing through another symlink, nothing beneath a symlink, only
 * files, directories and symlinks), the build strategy is detected, `.dockerignore` is applied
 * with Docker's semantics (dockerignore.ts) and the kept entries are re-packed into a new tar
 * file. Every step is linear in the size of the archive.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, pack as tarPack, type ExtractEvents, type Header } from 'tar-stream';
import { HiyError } from '../errors.js';
import { scopeCacheMounts } from './cache-mounts.js';
import { detect, GENERATED_DOCKERFILE, ROOT_FILE_MAX, ROOT_FILES, type BuildPlan, type DetectOptions } from './detect.js';
import { isIgnored, parseDockerignore } from './dockerignore.js';

/** Docker sends these whatever .dockerignore says (the daemon needs them; it drops them itself). */
const ALWAYS_SENT = new Set(['Dockerfile', 'dockerfile', '.dockerignore']);
const MAX_DOCKERIGNORE = 256 * 1024;
/** PATH_MAX: no real tree has longer paths, and bounding them bounds every per-path step. */
export const MAX_PATH_BYTES = 4096;

export const refuse = (message: string): HiyError => new HiyError('build_failed', `the source archive was refused: ${message}`);

/** `./a/b/` → `a/b`; refuses absolute paths and `..` components. */
export function entryPath(raw: string): string {
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw refuse(`a path is longer than ${MAX_PATH_BYTES} bytes (${JSON.stringify(raw.slice(0, 80))}…)`);
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
      if (Buffer.byteLength(target) > MAX_PATH_BYTES) throw refuse(`symlink ${path} has a target longer than ${MAX_PATH_BYTES} bytes`);
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

/** The symlinks of the tree as a tree of path components, so a path is checked in one walk. */
class LinkTree {
  private readonly root = new Map<string, Node>();
  add(path: string): void {
    let level = this.root;
    const parts = path.split('/');
    parts.forEach((p, i) => {
      let node = level.get(p);
      if (!node) level.set(p, (node = { link: false, children: new Map() }));
      if (i === parts.length - 1) node.link = true;
      level = node.children;
    });
  }
  /** The first proper prefix of `path` that is a symlink, if any. */
  linkAbove(path: string): string | undefined {
    let level = this.root;
    const parts = path.split('/');
    for (let i = 0; i < parts.length - 1; i++) {
      const node = level.get(parts[i]!);
      if (!node) return undefined;
      if (node.link) return parts.slice(0, i + 1).join('/');
      level = node.children;
    }
    return undefined;
  }
  /** The node of a component below `level` (undefined: no symlink lies at or below that path). */
  static child(level: Map<string, Node> | undefined, part: string): Node | undefined {
    return level?.get(part);
  }
  get top(): Map<string, Node> {
    return this.root;
  }
}
interface Node { link: boolean; children: Map<string, Node> }

/**
 * Docker extracts the context (confined to its folder) and COPY resolves links inside it, but hiy
 * does not lean on that alone: a path that goes through a symlink and then climbs with `..` can
 * resolve outside the tree although it looks inside (`a/b -> ..`, `c -> a/b/../..`), and an entry
 * beneath a symlink (`d -> /`, then `d/etc/x`) would be written through it by a naive extractor.
 * git archives never hold either. Linear: each path and link target is walked once.
 */
function checkSymlinkUse(paths: string[], links: Map<string, string>): void {
  if (links.size === 0) return;
  const tree = new LinkTree();
  for (const path of links.keys()) tree.add(path);
  for (const path of paths) {
    const above = tree.linkAbove(path);
    if (above !== undefined) throw refuse(`${path} lies beneath the symlink ${above}`);
  }
  for (const [path, target] of links) {
    // A stack of (component, node in the link tree) pairs: `..` pops, a name pushes.
    const stack: { part: string; node: Node | undefined }[] = [];
    let through: string | undefined;
    for (const p of [...posix.dirname(path).split('/'), ...target.split('/')]) {
      if (p === '' || p === '.') continue;
      if (p === '..') {
        if (through) throw refuse(`symlink ${path} climbs with ".." through another symlink (${through}): ${JSON.stringify(target)}`);
        stack.pop();
        continue;
      }
      const parent = stack.length === 0 ? tree.top : stack[stack.length - 1]!.node?.children;
      const node = LinkTree.child(parent, p);
      stack.push({ part: p, node });
      if (node?.link) through = stack.map((s) => s.part).join('/');
    }
  }
}

/** One entry of an archive being read: its header and its content stream. */
type Entry = ExtractEvents['entry'][1];

/** Calls `each` for every entry of the tar file in order; the entry must be consumed or resumed. */
async function forEachEntry(file: string, each: (h: Header, entry: Entry) => Promise<void>): Promise<void> {
  const input = createReadStream(file);
  const extract = tarExtract();
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    for await (const entry of extract) await each(entry.header, entry);
  } finally {
    input.destroy();
  }
}

async function readAll(entry: Entry, max: number, name: string): Promise<string> {
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
  /** Dockerfiles the build may use (DOCKERFILES) that are regular files, with their content. */
  dockerfiles: Map<string, string>;
}

/** The Dockerfiles detection can choose: the app's dockerfile_path, else the root ones. */
const dockerfileCandidates = (opts: DetectOptions): string[] => opts.dockerfilePath !== null ? [opts.dockerfilePath] : ['Dockerfile', 'dockerfile'];

async function scan(file: string, maxEntries: number, dockerfiles: string[]): Promise<Scan> {
  const out: Scan = { entries: 0, paths: [], links: new Map(), dockerignore: undefined, rootFiles: new Map(), dockerfiles: new Map() };
  await forEachEntry(file, async (h, entry) => {
    if (++out.entries > maxEntries) throw refuse(`it has more than ${maxEntries} entries`);
    const path = checkHeader(h);
    if (path !== undefined) out.paths.push(path);
    if (path !== undefined && h.type === 'symlink') out.links.set(path, h.linkname ?? '');
    const isFile = h.type === 'file' || h.type === 'contiguous-file';
    if (path === '.dockerignore' && isFile) out.dockerignore = await readAll(entry, MAX_DOCKERIGNORE, '.dockerignore');
    else if (path !== undefined && isFile && (ROOT_FILES as readonly string[]).includes(path)) {
      out.rootFiles.set(path, await readAll(entry, ROOT_FILE_MAX, path));
    } else if (path !== undefined && isFile && dockerfiles.includes(path)) {
      out.dockerfiles.set(path, await readAll(entry, ROOT_FILE_MAX, path));
    } else entry.resume();
  });
  checkSymlinkUse(out.paths, out.links);
  return out;
}

function fileHeader(name: string, content: string): Partial<Header> & { name: string } {
  return { name, type: 'file', mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, size: Buffer.byteLength(content) };
}

/** Writes the kept entries of `file`, then `extra` (generated files), as a new tar to `out`. */
async function repack(file: string, out: string, keep: (path: string) => boolean, extra: Map<string, string>): Promise<void> {
  const pack = tarPack();
  const written = pipeline(pack, createWriteStream(out, { mode: 0o600 }));
  const fill = forEachEntry(file, async (h, entry) => {
    const path = checkHeader(h);
    if (path === undefined || !keep(path) || extra.has(path)) {
      entry.resume();
      return;
    }
    // Fresh headers: owner root (as git archive writes it), no pax extras from the source.
    const isFile = h.type === 'file' || h.type === 'contiguous-file';
    const header: Partial<Header> & { name: string } = { name: path, type: isFile ? 'file' : h.type, mode: h.mode ?? 0o644, mtime: h.mtime ?? new Date(0), uid: 0, gid: 0, size: isFile ? (h.size ?? 0) : 0 };
    if (h.type === 'symlink') header.linkname = h.linkname ?? '';
    if (!isFile) {
      entry.resume();
      pack.entry(header);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      entry.on('error', reject);
      entry.pipe(sink);
    });
  }).then(() => {
    for (const [name, content] of extra) pack.entry(fileHeader(name, content), content);
    pack.finalize();
  }, (err: unknown) => {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  await Promise.all([written, fill]);
}

export const CACHE_MOUNTS_UNAVAILABLE = 'this Dockerfile uses RUN --mount, which needs BuildKit, and hiy builds with BuildKit only where it can hold build steps to the build memory and process limits (an engine with the cgroupfs cgroup driver, which install.sh sets unless /etc/docker/daemon.json names another; see docs/build-strategies.md, "Where BuildKit is used"). Remove the --mount options to build it here.';

export interface PreparedContext {
  entries: number;
  ignored: number;
  plan: BuildPlan;
}

/**
 * Checks `source` (a spooled archive), detects the strategy and writes the context the engine
 * gets to `out`: the kept entries plus, for a generated build, its Dockerfile and a
 * .dockerignore that keeps that file out of `COPY . .`. Throws HiyError('build_failed').
 */
export async function checkAndRepack(source: string, out: string, maxEntries: number, detectOpts: DetectOptions): Promise<PreparedContext> {
  const s = await scan(source, maxEntries, dockerfileCandidates(detectOpts)).catch((err: unknown) => {
    if (err instanceof HiyError) throw err;
    throw refuse(`it is not a valid tar archive (${(err as Error).message})`);
  });
  const plan = detect({ paths: new Set(s.paths), files: s.rootFiles }, detectOpts);
  let patterns;
  try {
    patterns = parseDockerignore(s.dockerignore ?? '');
  } catch (err) {
    throw refuse((err as Error).message);
  }
  const keep = (path: string) => ALWAYS_SENT.has(path) || path === plan.dockerfilePath || !isIgnored(patterns, path);
  let ignored = 0;
  for (const p of s.paths) if (!keep(p)) ignored++;
  const extra = new Map<string, string>();
  if (plan.strategy === 'dockerfile') {
    // Not read (a symlink): it has no cache mount hiy let through, and the classic builder,
    // which then builds it, refuses RUN --mount.
    const text = s.dockerfiles.get(plan.dockerfilePath);
    const scoped = text === undefined ? undefined : scopeCacheMounts(text, detectOpts.app);
    if (scoped?.usesMounts) {
      if (!detectOpts.cacheMounts) throw new HiyError('build_failed', CACHE_MOUNTS_UNAVAILABLE);
      plan.buildkit = true;
      if (scoped.cacheMounts) extra.set(plan.dockerfilePath, scoped.text);
    }
  }
  if (plan.generated !== undefined) {
    extra.set(GENERATED_DOCKERFILE, plan.generated);
    // The engine removes a Dockerfile and .dockerignore listed here from what COPY sees.
    extra.set('.dockerignore', `${s.dockerignore ?? ''}\n${GENERATED_DOCKERFILE}\n.dockerignore\n`);
  }
  await repack(source, out, keep, extra);
  return { entries: s.entries, ignored, plan };
}
