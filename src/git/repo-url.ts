import { HiyError } from '../errors.js';

// repo_url ends up as an argument of `git fetch`. What git and curl accept is far wider than what
// hiy needs (ext::, file://, local paths, ssh options, `-` values), so only a narrow shape passes,
// checked both when the app is saved and again right before every fetch.

export const REPO_URL_RULE = 'repo_url must be an https:// URL of at most 500 characters without credentials or spaces (for example https://github.com/me/app.git)';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// Printable ASCII without the characters that mean credentials, query, fragment or a parser
// differential between WHATWG URL and curl (backslash).
const SAFE_CHARS_RE = /^[A-Za-z0-9._~:/%+!$&'()*,;=[\]-]+$/;
const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$/;

export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname);

/** Why a repo URL is refused, or undefined when it is acceptable. */
export function repoUrlProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return 'it is empty';
  if (raw.length > 500) return 'it is longer than 500 characters';
  if (raw.startsWith('-')) return 'it starts with "-"';
  if (raw.includes('@')) return 'put no user name, password or token in it (use a repo token for private repos)';
  if (!SAFE_CHARS_RE.test(raw)) return 'it holds spaces, control characters, "\\", "?", "#" or non-ASCII characters';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return 'only https:// URLs are fetched (ext::, file://, ssh:// and local paths are not)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'it is not a URL';
  }
  if (url.username !== '' || url.password !== '') return 'put no user name or password in it';
  if (!HOST_RE.test(url.hostname)) return `"${url.hostname}" is not a host name`;
  const hostProblem = addressProblem(raw, url.hostname);
  if (hostProblem) return hostProblem;
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return 'plain http:// is only allowed to this machine (127.0.0.1, localhost, [::1])';
  if (url.pathname === '/' || url.pathname === '') return 'it names no repository';
  // WHATWG URL resolves these away; git and curl might not, so the raw text is checked.
  if (/\/(\.|%2e){1,2}(\/|$)/i.test(raw.slice(raw.indexOf('//') + 2))) return 'its path holds "." or ".." segments';
  return undefined;
}

/**
 * Host forms that URL parsers disagree on (`2130706433`, `0x7f.1`, `127.1` all mean 127.0.0.1 to
 * WHATWG URL and to some resolvers, not to others) and addresses no repository lives at: the
 * unspecified address, link-local (cloud metadata services live at 169.254.169.254), multicast
 * and broadcast. Private ranges stay allowed: a self-hosted Gitea on the LAN is a real use.
 */
function addressProblem(raw: string, hostname: string): string | undefined {
  const authority = raw.slice(raw.indexOf('//') + 2).split('/', 1)[0] ?? '';
  const written = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':', 1)[0] ?? '';
  if (written.toLowerCase() !== hostname) return `its host "${written}" is not written in its plain form ("${hostname}")`;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(hostname);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 0 || (a === 169 && b === 254) || a >= 224) return `${hostname} is an unspecified, link-local, multicast or broadcast address`;
  }
  if (hostname.startsWith('[')) {
    const v6 = hostname.slice(1, -1);
    if (v6 === '::' || /^fe[89ab]/.test(v6) || v6.startsWith('ff') || v6.startsWith('::ffff:')) return `${hostname} is an unspecified, link-local, multicast or IPv4-mapped address`;
  }
  return undefined;
}

/** The URL to hand to git (normalised by WHATWG URL), or an `invalid_input` error saying why not. */
export function checkRepoUrl(raw: unknown): URL {
  const problem = repoUrlProblem(raw);
  if (problem) throw new HiyError('invalid_input', `${REPO_URL_RULE}; refused because ${problem}`);
  return new URL(raw as string);
}

/**
 * A comparable identity of a repository: host (default port dropped) and path without a trailing
 * `/` or `.git`, lowercased (GitHub owner and repo names are case-insensitive). Undefined for
 * anything that is not an http(s) URL.
 */
export function repoIdentity(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 2000) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/i, '').toLowerCase();
  return `${url.host.toLowerCase()}${path}`;
}

/** Does a push payload's `repository` (clone_url or html_url) name the app's repo_url? */
export function sameRepository(repoUrl: string, repository: unknown): boolean {
  const want = repoIdentity(repoUrl);
  if (!want || typeof repository !== 'object' || repository === null) return false;
  const r = repository as Record<string, unknown>;
  return [r.clone_url, r.html_url, r.url].some((u) => repoIdentity(u) === want);
}
