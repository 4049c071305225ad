/**
 * Which build strategy a pushed tree gets, in this order (first match wins):
 *   1. a Dockerfile at the root, or at the app's dockerfile_path → built as it is;
 *   2. a recognised language → a generated Dockerfile (Node.js, Python, Go);
 *   3. a static/ folder or a root index.html → a small image serving the files;
 *   4. nothing → the build fails, saying what was looked for and how to fix it.
 * Pure: the caller hands over the tree's paths and the few root files read here.
 */
import { HiyError } from '../errors.js';
import { goBinaryName, goDockerfile, nodeDockerfile, pythonDockerfile, staticDockerfile } from './dockerfiles.js';
import type { BuildImages } from '../base-images.js';
import { parseProcfile, type Processes } from './procfile.js';
import { parseAppJson } from './app-json.js';
import type { CronJob } from './cron-jobs.js';

/** Root files whose content detection reads (each at most ROOT_FILE_MAX bytes). */
export const ROOT_FILES = ['Procfile', 'package.json', 'requirements.txt', 'go.mod', 'app.json'] as const;
export const ROOT_FILE_MAX = 256 * 1024;

/** Where the generated Dockerfile sits in the build context (never a path of the user's tree). */
export const GENERATED_DOCKERFILE = '.hiy.Dockerfile';

export type Strategy = 'dockerfile' | 'node' | 'python' | 'go' | 'static';

export interface SourceTree {
  /** Every path of the tree (files and directories, no leading "./", no trailing "/"). */
  paths: Set<string>;
  /** Contents of the ROOT_FILES present. */
  files: Map<string, string>;
}

export interface BuildPlan {
  strategy: Strategy;
  /** What the build output says: `Detected <label>`. */
  label: string;
  /** The Dockerfile the engine builds, as a path in the context. */
  dockerfilePath: string;
  /** Content of GENERATED_DOCKERFILE for generated strategies. */
  generated?: string;
  /** Procfile process types (empty without a Procfile). */
  processes: Processes;
  /** Scheduled jobs of app.json (empty without one). */
  cron: CronJob[];
  /** Extra lines for the build output (what was chosen and why). */
  notes: string[];
  /** The Dockerfile uses RUN --mount (a generated one's dependency cache): build with BuildKit. */
  buildkit: boolean;
}

export interface DetectOptions {
  images: BuildImages;
  /** The app's dockerfile_path setting (null: the root Dockerfile). */
  dockerfilePath: string | null;
  /** The app being built: its caches are named after it (cache-mounts.ts). */
  app: string;
  /** The builder can run RUN --mount steps within hiy's limits (Builder.cacheMounts). */
  cacheMounts: boolean;
}

export const NOTHING_RECOGNISED = [
  'hiy does not know how to build this app. It looked for, in this order:',
  '  - a Dockerfile at the root of the pushed tree (or at the app\'s dockerfile_path setting)',
  '  - package.json (Node.js), requirements.txt or pyproject.toml (Python), go.mod (Go)',
  '  - a static/ folder or an index.html at the root (a static site)',
  'To fix it, add a Dockerfile, or one of those files; a Procfile ("web: <command>") says how to start the app.',
].join('\n');

const fail = (message: string) => new HiyError('build_failed', message);

export function detect(tree: SourceTree, opts: DetectOptions): BuildPlan {
  const procfile = tree.files.get('Procfile');
  const processes = procfile === undefined ? {} : parseProcfile(procfile);
  const web = processes.web;
  const notes: string[] = [];
  if (procfile !== undefined) notes.push(`Procfile process types: ${Object.keys(processes).join(', ') || '(none)'}`);
  const appJson = tree.files.get('app.json');
  const { cron, notes: cronNotes } = appJson === undefined ? { cron: [], notes: [] } : parseAppJson(appJson);
  notes.push(...cronNotes);

  if (opts.dockerfilePath !== null) {
    if (!tree.paths.has(opts.dockerfilePath)) throw fail(`the app's dockerfile_path is ${opts.dockerfilePath}, but the pushed tree has no such file`);
    return { strategy: 'dockerfile', label: `Dockerfile (${opts.dockerfilePath})`, dockerfilePath: opts.dockerfilePath, processes, cron, notes, buildkit: false };
  }
  for (const name of ['Dockerfile', 'dockerfile']) {
    if (tree.paths.has(name)) return { strategy: 'dockerfile', label: 'Dockerfile', dockerfilePath: name, processes, cron, notes, buildkit: false };
  }
  const generated = (strategy: Strategy, label: string, dockerfile: string): BuildPlan =>
    ({ strategy, label, dockerfilePath: GENERATED_DOCKERFILE, generated: dockerfile, processes, cron, notes, buildkit: dockerfile.includes('RUN --mount=') });
  const cacheApp = opts.cacheMounts ? opts.app : undefined;

  const pkg = tree.files.get('package.json');
  if (pkg !== undefined) {
    const scripts = packageScripts(pkg);
    const lockfile = ['package-lock.json', 'npm-shrinkwrap.json'].find((f) => tree.paths.has(f));
    if (!lockfile) notes.push('no package-lock.json: dependencies are resolved with npm install (commit a lockfile for repeatable builds)');
    // As Heroku does, and `npm start` itself: without a start script, npm runs `node server.js`.
    if (!web && scripts.start === undefined) {
      if (!tree.paths.has('server.js')) {
        throw fail('Node.js app without a way to start it: add a "start" script to package.json, a server.js (what npm start runs without one), or a Procfile with a web: line');
      }
      notes.push('no "start" script: npm start runs node server.js');
    }
    return generated('node', 'Node.js app', nodeDockerfile({ image: opts.images.node, lockfile, hasBuild: scripts.build !== undefined, web, cacheApp }));
  }

  const requirements = tree.files.get('requirements.txt');
  if (requirements !== undefined || tree.paths.has('pyproject.toml')) {
    if (!web) throw fail('Python app without a web command: add a Procfile, for example "web: gunicorn app:app --bind 0.0.0.0:$PORT"');
    const listed = requirements !== undefined && requirements.split(/\r?\n/).some((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    if (requirements !== undefined && !listed) notes.push('requirements.txt lists no packages: nothing to install');
    return generated('python', 'Python app', pythonDockerfile({ image: opts.images.python, requirements: listed, pyproject: requirements === undefined, web, cacheApp }));
  }

  const goMod = tree.files.get('go.mod');
  if (goMod !== undefined) {
    return generated('go', 'Go app', goDockerfile({
      image: opts.images.go, runtimeImage: opts.images.goRuntime, hasGoSum: tree.paths.has('go.sum'), binary: goBinaryName(goMod), web,
    }));
  }

  const staticRoot = tree.paths.has('static') && [...tree.paths].some((p) => p.startsWith('static/')) ? 'static' : tree.paths.has('index.html') ? '.' : undefined;
  if (staticRoot) {
    notes.push(`serving ${staticRoot === '.' ? 'the root folder' : 'static/'}`);
    return generated('static', 'static site', staticDockerfile({ image: opts.images.static, root: staticRoot, web }));
  }
  throw fail(NOTHING_RECOGNISED);
}

function packageScripts(text: string): Record<string, unknown> {
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch (err) {
    throw fail(`package.json is not valid JSON: ${(err as Error).message}`);
  }
  const scripts = (pkg as { scripts?: unknown } | null)?.scripts;
  return typeof scripts === 'object' && scripts !== null ? scripts as Record<string, unknown> : {};
}
