import { HiyError } from '../errors.js';

/** Process types of a release: `web` gets the route, `release` runs once before the switch, the rest are workers. */
export type Processes = Record<string, string>;

export const PROCESS_TYPE_RE = /^[a-z][a-z0-9_-]{0,29}$/;
const MAX_PROCFILE = 64 * 1024;
/** Process types one app may define (web and release included): each runs at least one container. */
export const MAX_PROCESS_TYPES = 8;

/**
 * Parses a Procfile (`name: command` per line, `#` comments) as Heroku does. Process type names
 * end up in container labels and API paths, so they are held to a strict pattern; an invalid
 * line fails the build with its line number rather than being skipped silently.
 */
export function parseProcfile(text: string): Processes {
  if (text.length > MAX_PROCFILE) throw new HiyError('build_failed', 'Procfile is larger than 64 KB');
  const out: Processes = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(line);
    const name = m?.[1]?.toLowerCase();
    const command = m?.[2]?.trim();
    if (!name || !command || !PROCESS_TYPE_RE.test(name)) {
      throw new HiyError('build_failed', `Procfile line ${i + 1} is not "<type>: <command>" with a type of lowercase letters, digits, "_" or "-" (got ${JSON.stringify(line.slice(0, 60))})`);
    }
    if (out[name] !== undefined) throw new HiyError('build_failed', `Procfile defines "${name}" twice (line ${i + 1})`);
    out[name] = command;
  });
  const types = Object.keys(out).length;
  if (types > MAX_PROCESS_TYPES) {
    throw new HiyError('build_failed', `Procfile defines ${types} process types; an app may have at most ${MAX_PROCESS_TYPES} (web and release included): every type runs a container out of the app's memory and process budget`);
  }
  return out;
}

/** A Procfile command as a container command: through sh, exec'd when it is a plain command so signals reach the app. */
export function shellCommand(command: string): string[] {
  const plain = !/[;&|<>()`$\\\n]|\b(?:if|for|while|case)\b/.test(command.replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ''));
  return ['/bin/sh', '-c', plain ? `exec ${command}` : command];
}

/** The process types that run as long-lived containers besides web (release is a one-off). */
export function workerTypes(processes: Processes): string[] {
  return Object.keys(processes).filter((t) => t !== 'web' && t !== 'release').sort();
}
