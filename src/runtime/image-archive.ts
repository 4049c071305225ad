/**
 * A `docker save` archive on its way to the engine's load, rewritten in passing so that the one
 * image in it gets hiy's name and no other. `docker load` applies whatever names an archive
 * carries: an upload naming `hiy/<other app>:…` or a base image such as `node:22-bookworm-slim`
 * would silently replace that image on the box. Layers stream through untouched (nothing is
 * spooled or held in memory); only the small index files are rewritten:
 *   manifest.json  the images and their RepoTags: exactly one image, RepoTags = [tag]
 *   repositories   the legacy name file: left out
 *   index.json     an OCI layout's index: its name annotations left out
 * An archive with no manifest.json or more than one image fails the stream before its end, so
 * the engine sees a cut archive and loads nothing.
 */
import { Readable } from 'node:stream';
import { extract as tarExtract, pack as tarPack, type Header } from 'tar-stream';
import { HiyError } from '../errors.js';

const MAX_INDEX_BYTES = 1024 * 1024;
const NAME_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];

const refuse = (why: string) => new HiyError('invalid_input', `the upload is not one image saved with docker save: ${why}`);

async function readAll(entry: AsyncIterable<unknown>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of entry) {
    size += (c as Buffer).length;
    if (size > MAX_INDEX_BYTES) throw refuse(`${name} is larger than 1 MB`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(buf: Buffer, name: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw refuse(`${name} is not JSON`);
  }
}

/** manifest.json with its one image named `tag` alone. */
export function renameManifest(buf: Buffer, tag: string): Buffer {
  const manifest = parseJson(buf, 'manifest.json');
  if (!Array.isArray(manifest)) throw refuse('manifest.json is not a list of images');
  if (manifest.length !== 1) throw refuse(`it holds ${manifest.length} images; save exactly one (docker save <image> | hiy images:load <app>)`);
  const entry = manifest[0] as unknown;
  if (typeof entry !== 'object' || entry === null || typeof (entry as { Config?: unknown }).Config !== 'string') throw refuse('its manifest.json names no image configuration');
  return Buffer.from(JSON.stringify([{ ...entry, RepoTags: [tag] }]));
}

/** index.json without the annotations that would name images. */
export function unnameIndex(buf: Buffer): Buffer {
  const index = parseJson(buf, 'index.json') as { manifests?: unknown };
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) return buf;
  const manifests = (index.manifests as unknown[]).map((m) => {
    if (typeof m !== 'object' || m === null) return m;
    const annotations = (m as { annotations?: Record<string, unknown> }).annotations;
    if (!annotations) return m;
    const kept = Object.fromEntries(Object.entries(annotations).filter(([k]) => !NAME_ANNOTATIONS.includes(k)));
    return { ...m, annotations: kept };
  });
  return Buffer.from(JSON.stringify({ ...index, manifests }));
}

/**
 * The archive as the engine should load it. Errors (a refused archive, the upload failing) end
 * the returned stream with that error, before the archive's end.
 */
export function renameSavedImage(archive: Readable, tag: string): Readable {
  const extract = tarExtract();
  const pack = tarPack();
  archive.on('error', (err) => extract.destroy(err));
  pack.once('close', () => { archive.destroy(); extract.destroy(); });
  archive.pipe(extract);

  const rewrite = async (): Promise<void> => {
    let manifestSeen = false;
    for await (const entry of extract) {
      const header: Header = entry.header;
      const name = header.name.replace(/^\.\//, '');
      if (name === 'repositories') {
        entry.resume();
        continue;
      }
      if (name === 'manifest.json' || name === 'index.json') {
        const content = name === 'manifest.json' ? renameManifest(await readAll(entry, name), tag) : unnameIndex(await readAll(entry, name));
        manifestSeen ||= name === 'manifest.json';
        pack.entry({ ...header, size: content.length }, content);
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        pack.entry(header);
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
        // A sink of a destroyed pack errors: unheard, that error would end the process.
        sink.on('error', reject);
        entry.on('error', reject);
        entry.pipe(sink);
      });
    }
    if (!manifestSeen) throw refuse('it has no manifest.json');
  };
  rewrite().then(() => pack.finalize(), (err: unknown) => {
    const e = err instanceof HiyError ? err : refuse(`it is not a valid tar archive (${(err as Error).message})`);
    pack.destroy(e);
  });
  return Readable.from(pack, { objectMode: false });
}
