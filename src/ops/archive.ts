/**
 * The tar side of backups: packing files and whole trees (owners, modes, symlinks kept) and a
 * careful extraction that can never write outside its target folder.
 */
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, readlink, realpath, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { extract as tarExtract, type Header, type Pack } from 'tar-stream';
import { HiyError } from '../errors.js';

type EntryHeader = Partial<Header> & { name: string };

function addEntry(pack: Pack, header: EntryHeader, content?: Readable): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolvePromise());
    if (!content) { pack.entry(header, Buffer.alloc(0), done); return; }
    const sink = pack.entry(header, done);
    content.on('error', reject);
    content.pipe(sink as unknown as NodeJS.WritableStream);
  });
}

/** A small in-memory file (the manifest). */
export function addBuffer(pack: Pack, name: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return new Promise<void>((res, rej) => { pack.entry({ name, size: buf.length, mode, mtime: new Date() }, buf, (err) => (err ? rej(err) : res())); });
}

/** One file from disk, streamed (its size is taken first: a file growing meanwhile is cut at that size). */
export async function addFile(pack: Pack, name: string, path: string): Promise<number> {
  const st = await lstat(path);
  const content = st.size > 0 ? createReadStream(path, { start: 0, end: st.size - 1 }) : undefined;
  await addEntry(pack, { name, type: 'file', size: st.size, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid }, content);
  return st.size;
}

/** A file whose size is this much larger than what it occupies on disk is sparse: not backed up. */
export const SPARSE_SLACK_BYTES = 64 * 1024 * 1024;

export interface TreeResult {
  /** Bytes of file content packed. */
  bytes: number;
  /** What was left out, and why (changed while read, sparse). */
  skipped: string[];
}

const { O_RDONLY, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

/**
 * Every directory, regular file and symlink below `root`, under `prefix/` in the archive, with
 * owners and modes (a volume's files belong to the app's user). Sockets, fifos and devices are
 * skipped: they are not data.
 *
 * The tree belongs to an app that runs while it is read, so nothing is opened by a path the app
 * could redirect: every directory is held open, its entries are looked up through that open
 * directory (/proc/self/fd/<fd>/<name>, Linux's openat without the binding), opened with
 * O_NOFOLLOW, and packed from what fstat says about the opened file. A symlink is stored as a
 * symlink; an entry swapped for one meanwhile (a folder replaced by a link to <data>/secrets)
 * fails to open and is left out and reported, never followed. A sparse file (a 1 TB hole costs
 * nothing to make) is left out too.
 */
export async function addTree(pack: Pack, prefix: string, root: string, skip: (rel: string) => boolean = () => false): Promise<TreeResult> {
  const out: TreeResult = { bytes: 0, skipped: [] };
  const walk = async (dir: FileHandle, rel: string): Promise<void> => {
    const here = `/proc/self/fd/${dir.fd}`;
    const names = (await readdir(here)).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (skip(childRel)) continue;
      const path = `${here}/${name}`;
      let st: Stats;
      try {
        st = await lstat(path);
      } catch {
        continue; // removed while we walked (a live volume)
      }
      const meta = (x: Stats) => ({ name: `${prefix}/${childRel}`, mode: x.mode & 0o7777, mtime: x.mtime, uid: x.uid, gid: x.gid });
      if (st.isSymbolicLink()) {
        const target = await readlink(path).catch(() => undefined);
        if (target !== undefined) await addEntry(pack, { ...meta(st), type: 'symlink', linkname: target });
        continue;
      }
      if (!st.isDirectory() && !st.isFile()) continue;
      const fh = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (st.isDirectory() ? O_DIRECTORY : 0)).catch(() => undefined);
      if (!fh) {
        out.skipped.push(`${childRel}: changed while it was read (now a link or gone), left out`);
        continue;
      }
      try {
        // What was opened is what gets packed: O_NOFOLLOW made sure it is no link. Another file
        // under the same name (an atomic rename by the app) is fine; another kind of thing is not.
        const now = await fh.stat();
        if (now.isDirectory() !== st.isDirectory() || (!now.isDirectory() && !now.isFile())) {
          out.skipped.push(`${childRel}: replaced while it was read, left out`);
          continue;
        }
        if (now.isDirectory()) {
          await addEntry(pack, { ...meta(now), type: 'directory' });
          await walk(fh, childRel);
          continue;
        }
        if (now.size > now.blocks * 512 + SPARSE_SLACK_BYTES) {
          out.skipped.push(`${childRel}: sparse (${now.size} bytes, ${now.blocks * 512} on disk), left out`);
          continue;
        }
        // The size fstat saw: a file growing meanwhile is cut there, one shrinking fails the backup.
        const content = now.size > 0 ? fh.createReadStream({ start: 0, end: now.size - 1, autoClose: false }) : undefined;
        await addEntry(pack, { ...meta(now), type: 'file', size: now.size }, content);
        out.bytes += now.size;
      } finally {
        await fh.close();
      }
    }
  };
  const top = await open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    const st = await top.stat();
    await addEntry(pack, { name: prefix, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid });
    await walk(top, '');
  } finally {
    await top.close();
  }
  return out;
}

export interface ExtractOptions {
  /** Keep the archive's owners (volumes): only as root. */
  owners: boolean;
  maxEntries: number;
}

/** A name from the archive made safe: relative, no `..`, no empty or dot parts. */
export function safeName(name: string): string {
  const n = name.replace(/\/+$/, '');
  if (n === '' || n.startsWith('/') || n.includes('\0') || n.includes('\\')) throw new HiyError('invalid_input', `the backup holds an unsafe path: ${JSON.stringify(name.slice(0, 200))}`);
  const parts = n.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new HiyError('invalid_input', `the backup holds an unsafe path: ${JSON.stringify(name.slice(0, 200))}`);
  return posix.normalize(n);
}

/**
 * Makes the folders of `rel` below `root`, one level at a time, each only after checking what is
 * there: an existing component must be a real folder (lstat: a symlink is refused, never
 * followed), so nothing is ever created outside `root`.
 */
async function mkdirInside(root: string, rel: string): Promise<void> {
  let cur = root;
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    cur = join(cur, part);
    const st = await lstat(cur).catch(() => undefined);
    if (!st) await mkdir(cur, { mode: 0o700 });
    else if (!st.isDirectory()) throw new HiyError('invalid_input', `the backup would write through ${JSON.stringify(rel.slice(0, 200))}, which is not a folder`);
  }
}

/**
 * Extracts a tar stream into `dest` (which must exist). Symlinks are created last, so no file
 * is ever written through one, and every folder is made only after the one above it was checked
 * to be a real folder inside `dest`.
 */
export async function extractTo(source: Readable, dest: string, opts: ExtractOptions): Promise<{ entries: number }> {
  const root = await realpath(dest);
  const ex = tarExtract();
  const links: { rel: string; path: string; target: string; h: Header }[] = [];
  const dirTimes: { path: string; h: Header }[] = [];
  let entries = 0;
  const own = async (path: string, h: Header, link = false) => {
    if (!opts.owners) return;
    await (link ? lchown(path, h.uid, h.gid) : chown(path, h.uid, h.gid));
  };
  const consume = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      if (++entries > opts.maxEntries) throw new HiyError('invalid_input', `the backup holds more than ${opts.maxEntries} entries`);
      const rel = safeName(h.name);
      const path = join(root, rel);
      if (h.type === 'directory') {
        await mkdirInside(root, rel);
        dirTimes.push({ path, h });
        entry.resume();
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        await mkdirInside(root, dirname(rel));
        // 'wx': never follow or overwrite whatever is there already.
        await pipeline(entry as unknown as Readable, createWriteStream(path, { flags: 'wx', mode: h.mode & 0o777 }));
        await own(path, h);
        await utimes(path, h.mtime, h.mtime);
      } else if (h.type === 'symlink') {
        links.push({ rel, path, target: h.linkname, h });
        entry.resume();
      } else {
        entry.resume(); // hard links, devices: never written by hiy backup
      }
    }
  })();
  await Promise.all([pipeline(source, ex as unknown as NodeJS.WritableStream), consume]);
  for (const l of links) {
    await mkdirInside(root, dirname(l.rel));
    await symlink(l.target, l.path);
    await own(l.path, l.h, true);
  }
  // Folders last: creating their children changed their mode-relevant times.
  for (const d of dirTimes.reverse()) {
    await chmod(d.path, d.h.mode & 0o7777);
    await own(d.path, d.h);
  }
  return { entries };
}
