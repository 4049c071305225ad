/**
 * Dependency caches between builds are BuildKit cache mounts (`RUN --mount=type=cache,...`).
 * Their ids are engine-wide: two apps naming the same id, or one leaving the id out (BuildKit
 * then uses the target path), would share one directory, and a pushed Dockerfile could read and
 * poison another app's cache. So every cache mount of an app's build gets an id in the app's own
 * namespace, `hiy/<app>/<id>` ('/' is never part of an app name, so no two apps' ids can meet),
 * whatever the Dockerfile wrote. Seeding a cache from another stage or image (`from=`, `source=`)
 * is refused: it is the one option that reaches outside the app's namespace.
 * Pure functions; the build context worker applies them (context-check.ts).
 */
import { HiyError } from '../errors.js';
import { CACHE_ROOT } from '../runtime/builder.js';

/** The engine-wide id of an app's cache `name` (generated builds use `npm`, `pip`). */
export const cacheId = (app: string, name: string): string => `hiy/${app}/${name}`;

/**
 * Where generated builds mount their caches. The engine describes a cache mount only by its
 * target and command (`cached mount <target> from exec …`, Engine 20.10), so the app in the
 * target is what lets hiy measure and remove one app's caches (docker-caches.ts).
 */
export { CACHE_ROOT };
export const cacheTarget = (app: string, name: string): string => `${CACHE_ROOT}/${app}/${name}`;

const fail = (message: string) => new HiyError('build_failed', message);

export interface ScopedDockerfile {
  /** The Dockerfile with every cache mount id in the app's namespace. */
  text: string;
  /** A RUN step uses --mount: the build needs BuildKit. */
  usesMounts: boolean;
  /** Cache mounts rewritten (0: text is the input as it was). */
  cacheMounts: number;
}

/** `# escape=` parser directive: the line continuation character (`\` unless set). */
function escapeChar(text: string): string {
  for (const line of text.split('\n')) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(line.trim());
    if (!m) break; // directives come first; anything else ends them
    if (m[1]!.toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) return m[2];
  }
  return '\\';
}

/** Splits the Dockerfile into logical instructions (continuation lines joined), keeping the raw text. */
function instructions(text: string, escape: string): { start: number; end: number; body: string }[] {
  const out: { start: number; end: number; body: string }[] = [];
  const lines = text.split('\n');
  let offset = 0;
  let current: { start: number; end: number; body: string } | undefined;
  for (const raw of lines) {
    const end = offset + raw.length;
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    // Blank and comment lines are skipped, also inside a continued instruction (as BuildKit's
    // parser does: reading it any other way could hide a --mount from this check).
    if (trimmed === '' || trimmed.startsWith('#')) { offset = end + 1; continue; }
    const continued = line.trimEnd().endsWith(escape);
    const part = continued ? line.trimEnd().slice(0, -1) : line;
    // Joined as BuildKit joins them: nothing added, nothing removed.
    if (!current) current = { start: offset, end, body: part };
    else { current.body += part; current.end = end; }
    if (!continued) { out.push(current); current = undefined; }
    offset = end + 1;
  }
  if (current) out.push(current);
  return out;
}

/** Rewrites one `--mount=` value; returns undefined when it is not a cache mount. */
function scopeMount(value: string, app: string): string | undefined {
  if (value.includes('"') || value.includes("'")) {
    if (/type=cache/.test(value)) throw fail(`a RUN --mount with quotes is not supported for cache mounts (${value}): write type=cache,target=/path,id=name without quotes`);
    return undefined;
  }
  const fields = value.split(',').map((f) => f.trim()).filter(Boolean);
  const kv = fields.map((f) => { const i = f.indexOf('='); return i < 0 ? [f.toLowerCase(), ''] : [f.slice(0, i).toLowerCase(), f.slice(i + 1)]; }) as [string, string][];
  const type = kv.find(([k]) => k === 'type')?.[1] ?? 'bind';
  if (type !== 'cache') return undefined;
  const target = kv.find(([k]) => k === 'target' || k === 'dst' || k === 'destination')?.[1];
  if (!target) throw fail(`RUN --mount=${value}: a cache mount needs target=<path>`);
  if (kv.some(([k]) => k === 'from' || k === 'source' || k === 'src')) {
    throw fail(`RUN --mount=${value}: hiy does not allow from= or source= on cache mounts (a cache is seeded only by the app's own builds, so no build can read another app's cache)`);
  }
  const normalTarget = `/${target.split('/').filter(Boolean).join('/')}`;
  if (normalTarget === CACHE_ROOT || normalTarget.startsWith(`${CACHE_ROOT}/`)) {
    throw fail(`RUN --mount=${value}: ${CACHE_ROOT} is where hiy's generated builds keep their caches; choose another target`);
  }
  const id = kv.find(([k]) => k === 'id')?.[1] || normalTarget;
  const kept = fields.filter((f) => !/^id=/i.test(f));
  return [...kept, `id=${cacheId(app, id.replace(/^\/+/, ''))}`].join(',');
}

/**
 * Gives every `RUN --mount=type=cache` of a pushed Dockerfile an id in the app's namespace (an id
 * the Dockerfile named is kept inside it: `id=npm` → `id=hiy/<app>/npm`; no id → the target
 * path, as BuildKit's default). Throws HiyError('build_failed') for what would reach outside it.
 */
export function scopeCacheMounts(text: string, app: string): ScopedDockerfile {
  const escape = escapeChar(text);
  let out = '';
  let last = 0;
  let usesMounts = false;
  let cacheMounts = 0;
  for (const ins of instructions(text, escape)) {
    // ONBUILD RUN too: the trigger runs in a later build FROM this image, unseen by this check then.
    const m = /^\s*(?:ONBUILD\s+)?RUN\s+/i.exec(ins.body);
    if (!m) continue;
    // The flags come first: `--name=value` words up to the command.
    const flags = /^(?:--[a-zA-Z-]+(?:=\S*)?\s+)*/.exec(ins.body.slice(m[0].length))?.[0] ?? '';
    const mounts = [...flags.matchAll(/--mount(?:=(\S*))?/g)];
    if (mounts.length === 0) continue;
    usesMounts = true;
    // Rebuilt piece by piece from the match positions: a string replace could hit an earlier,
    // already rewritten mount whose new value starts with the same text.
    let newFlags = '';
    let at = 0;
    for (const mount of mounts) {
      const value = mount[1];
      if (value === undefined || value === '') throw fail('RUN --mount needs a value: --mount=type=cache,target=/path');
      if (value.includes('$')) throw fail(`RUN --mount=${value}: hiy does not allow variables in --mount (the mount's options must be readable before the build)`);
      const scoped = scopeMount(value, app);
      if (scoped === undefined) continue;
      cacheMounts++;
      newFlags += `${flags.slice(at, mount.index)}--mount=${scoped}`;
      at = mount.index + mount[0].length;
    }
    const rewritten = at > 0;
    const body = ins.body.slice(0, m[0].length) + newFlags + flags.slice(at) + ins.body.slice(m[0].length + flags.length);
    if (!rewritten) continue;
    // The instruction is written back on one line (continuations joined): same meaning.
    out += text.slice(last, ins.start) + body;
    last = ins.end;
  }
  out += text.slice(last);
  return { text: cacheMounts ? out : text, usesMounts, cacheMounts };
}
