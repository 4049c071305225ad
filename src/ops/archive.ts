/**
 * The tar side of backups: packing files and whole trees (owners, modes, symlinks kept) and a
 * careful extraction that can never write outside its target folder.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, readdir, readlink, realpath, symlink, utimes } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
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

/**
 * Every directory, regular file and symlink below `root`, under `prefix/` in the archive, with
 * owners and modes (a volume's files belong to the app's user). Sockets, fifos and devices are
 * skipped: they are not data. Returns the number of bytes of file content packed.
 */
export async function addTree(pack: Pack, prefix: string, root: string, skip: (rel: string) => boolean = () => false): Promise<number> {
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(root, rel) : root;
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (skip(childRel)) continue;
      const path = join(root, childRel);
      let st;
      try {
        st = await lstat(path);
      } catch {
        continue; // removed while we walked (a live volume)
      }
      const common = { name: `${prefix}/${childRel}`, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        await addEntry(pack, { ...common, type: 'directory' });
        await walk(childRel);
      } else if (st.isSymbolicLink()) {
        await addEntry(pack, { ...common, type: 'symlink', linkname: await readlink(path) });
      } else if (st.isFile()) {
        await addEntry(pack, { ...common, type: 'file', size: st.size }, st.size > 0 ? createReadStream(path, { start: 0, end: st.size - 1 }) : undefined);
        bytes += st.size;
      }
    }
  };
  const st = await lstat(root);
  await addEntry(pack, { name: prefix, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid });
  await walk('');
  return bytes;
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
 * Extracts a tar stream into `dest` (which must exist). Symlinks are created last, so no file
 * is ever written through one, and every parent folder is checked to resolve inside `dest`.
 */
export async function extractTo(source: Readable, dest: string, opts: ExtractOptions): Promise<{ entries: number }> {
  const root = await realpath(dest);
  const ex = tarExtract();
  const links: { path: string; target: string; h: Header }[] = [];
  const dirTimes: { path: string; h: Header }[] = [];
  let entries = 0;
  const inside = async (path: string): Promise<void> => {
    const parent = await realpath(dirname(path));
    if (parent !== root && !parent.startsWith(root + sep)) throw new HiyError('invalid_input', `the backup would write outside ${dest}`);
  };
  const own = async (path: string, h: Header, link = false) => {
    if (!opts.owners) return;
    await (link ? lchown(path, h.uid, h.gid) : chown(path, h.uid, h.gid));
  };
  const consume = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      if (++entries > opts.maxEntries) throw new HiyError('invalid_input', `the backup holds more than ${opts.maxEntries} entries`);
      const path = resolve(root, safeName(h.name));
      if (h.type === 'directory') {
        await mkdir(path, { recursive: true, mode: 0o700 });
        await inside(path);
        dirTimes.push({ path, h });
        entry.resume();
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await inside(path);
        // 'wx': never follow or overwrite whatever is there already.
        await pipeline(entry as unknown as Readable, createWriteStream(path, { flags: 'wx', mode: h.mode & 0o777 }));
        await own(path, h);
        await utimes(path, h.mtime, h.mtime);
      } else if (h.type === 'symlink') {
        links.push({ path, target: h.linkname, h });
        entry.resume();
      } else {
        entry.resume(); // hard links, devices: never written by hiy backup
      }
    }
  })();
  await Promise.all([pipeline(source, ex as unknown as NodeJS.WritableStream), consume]);
  for (const l of links) {
    await mkdir(dirname(l.path), { recursive: true, mode: 0o700 });
    await inside(l.path);
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
