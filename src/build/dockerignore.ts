/**
 * `.dockerignore` matching with Docker's semantics, in time linear in the path for each pattern.
 *
 * Docker documents the syntax as Go's filepath.Match plus `**`: `*` (any run of characters but
 * `/`), `?` (one character but `/`), `[...]` classes (`[^...]` negated, `a-z` ranges), `\`
 * escaping the next character, `**` (any number of directories), and a leading `!` for an
 * exception. Every other character is literal. (Docker's own implementation turns patterns into
 * Go regular expressions, where `(a+)+b` happens to be a group; Go's engine is linear, a
 * JavaScript RegExp is not: such a line froze hiy for seconds per file. Here `(`, `+` and friends
 * are plain characters, as the documented syntax says.)
 *
 * A pattern is compiled into a small automaton and run once over a path, tracking every state it
 * can be in at once (Thompson's construction): no backtracking, so the cost is
 * O(path length × pattern length) whatever the input. The same pass also says whether the pattern
 * matches each parent directory of the path (Docker's MatchesOrParentMatches: a file inside an
 * ignored folder is ignored), since those are prefixes of the path.
 */

/** One step of a compiled pattern. */
type Token =
  | { t: 'char'; c: string }
  | { t: 'any' } // `?`
  | { t: 'star' } // `*`: zero or more characters other than `/`
  | { t: 'globstar' } // `**` followed by more pattern: empty, or anything ending in `/`
  | { t: 'rest' } // `**` at the end: anything at all
  | { t: 'class'; negated: boolean; ranges: [string, string][] };

export interface IgnorePattern {
  /** The cleaned pattern, without the `!`. */
  pattern: string;
  exclusion: boolean;
  tokens: Token[];
}

/** Limits that keep one .dockerignore from costing more than a few seconds even in the worst case. */
export const MAX_PATTERNS = 1000;
export const MAX_PATTERN_LENGTH = 1024;

/** Go's path.Clean for a slash-separated relative pattern (no `..` resolution above the root). */
export function cleanPattern(p: string): string {
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Reads a class after its `[`; returns the token and the index after its `]`, or undefined when it never closes. */
function readClass(p: string, start: number): { token: Token; next: number } | undefined {
  let i = start;
  let negated = false;
  if (p[i] === '^' || p[i] === '!') {
    negated = true;
    i++;
  }
  const ranges: [string, string][] = [];
  let first = true;
  while (i < p.length) {
    if (p[i] === ']' && !first) return { token: { t: 'class', negated, ranges }, next: i + 1 };
    first = false;
    let lo = p[i]!;
    if (lo === '\\' && i + 1 < p.length) lo = p[++i]!;
    i++;
    let hi = lo;
    if (p[i] === '-' && i + 1 < p.length && p[i + 1] !== ']') {
      hi = p[i + 1]!;
      i += 2;
      if (hi === '\\' && i < p.length) hi = p[i++]!;
    }
    ranges.push([lo, hi]);
  }
  return undefined;
}

export function compilePattern(raw: string): Token[] {
  const tokens: Token[] = [];
  // Code points, not UTF-16 units: `?` is one character, as in Go.
  const p = [...raw].join('');
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') i++;
        tokens.push(i + 1 >= p.length ? { t: 'rest' } : { t: 'globstar' });
      } else {
        tokens.push({ t: 'star' });
      }
    } else if (ch === '?') {
      tokens.push({ t: 'any' });
    } else if (ch === '\\') {
      tokens.push({ t: 'char', c: i + 1 < p.length ? p[++i]! : '\\' });
    } else if (ch === '[') {
      const cls = readClass(p, i + 1);
      if (cls) {
        tokens.push(cls.token);
        i = cls.next - 1;
      } else {
        tokens.push({ t: 'char', c: '[' });
      }
    } else {
      tokens.push({ t: 'char', c: ch });
    }
  }
  return tokens;
}

/**
 * Parses a .dockerignore file as Docker does: one pattern per line, `#` comments, surrounding
 * space trimmed, `!` for exceptions, each pattern cleaned (Go's filepath.Clean) and a leading
 * `/` dropped.
 */
export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const line of text.split(/\r?\n/)) {
    let p = line.trim();
    if (p === '' || p.startsWith('#')) continue;
    let exclusion = false;
    if (p.startsWith('!')) {
      exclusion = true;
      p = p.slice(1).trim();
    }
    if (p === '') continue;
    p = cleanPattern(p);
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    if (p === '' ) continue;
    if (out.length >= MAX_PATTERNS) throw new RangeError(`.dockerignore has more than ${MAX_PATTERNS} patterns`);
    if (p.length > MAX_PATTERN_LENGTH) throw new RangeError(`a .dockerignore pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
    out.push({ pattern: p, exclusion, tokens: compilePattern(p) });
  }
  return out;
}

function inClass(tok: Extract<Token, { t: 'class' }>, c: string): boolean {
  if (c === '/') return false;
  let hit = false;
  for (const [lo, hi] of tok.ranges) if (c >= lo && c <= hi) { hit = true; break; }
  return hit !== tok.negated;
}

/**
 * Runs `tokens` over `path`. Returns whether the whole path matches and whether any proper
 * prefix ending just before a `/` matches (a parent directory).
 *
 * States 0..n are "before token i"; a globstar at i also has a state n+1+i for "inside its
 * `.*` part, waiting for the `/` that ends it".
 */
export function matchPath(tokens: Token[], path: string): { full: boolean; parent: boolean } {
  const n = tokens.length;
  let cur = new Uint8Array(2 * n + 2);
  let next = new Uint8Array(2 * n + 2);
  const add = (set: Uint8Array, s: number) => {
    // Epsilon closure: star, globstar and rest may match nothing.
    while (s <= n && !set[s]) {
      set[s] = 1;
      const tok = tokens[s];
      if (tok === undefined) return;
      if (tok.t === 'globstar') set[n + 1 + s] = 1;
      if (tok.t !== 'star' && tok.t !== 'globstar' && tok.t !== 'rest') return;
      s++;
    }
  };
  add(cur, 0);
  let parent = false;
  const chars = [...path];
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k]!;
    if (c === '/' && cur[n]) parent = true;
    next.fill(0);
    let alive = false;
    for (let s = 0; s < n; s++) {
      const tok = tokens[s]!;
      if (cur[n + 1 + s]) {
        // Inside a globstar: anything goes; a `/` may also end it.
        next[n + 1 + s] = 1;
        alive = true;
        if (c === '/') add(next, s + 1);
      }
      if (!cur[s]) continue;
      switch (tok.t) {
        case 'char': if (tok.c === c) { add(next, s + 1); alive = true; } break;
        case 'any': if (c !== '/') { add(next, s + 1); alive = true; } break;
        case 'class': if (inClass(tok, c)) { add(next, s + 1); alive = true; } break;
        case 'star': if (c !== '/') { add(next, s); alive = true; } break;
        case 'globstar': next[n + 1 + s] = 1; alive = true; if (c === '/') add(next, s + 1); break;
        case 'rest': add(next, s); alive = true; break;
      }
    }
    [cur, next] = [next, cur];
    if (!alive && !parent) return { full: false, parent: false };
    if (!alive) return { full: false, parent };
  }
  return { full: cur[n] === 1, parent };
}

/**
 * Whether Docker leaves `path` out of the context: the last pattern that matches the path or one
 * of its parent folders decides (an exception `!` brings it back).
 */
export function isIgnored(patterns: IgnorePattern[], path: string): boolean {
  let matched = false;
  for (const p of patterns) {
    // As Docker: an inclusion cannot change an already ignored path, nor an exception a kept one.
    if (p.exclusion !== matched) continue;
    const m = matchPath(p.tokens, path);
    if (m.full || m.parent) matched = !p.exclusion;
  }
  return matched;
}
