import { HiyError } from './errors.js';

/**
 * Base images of generated Dockerfiles. Defaults are the official slim images; every one can be
 * replaced globally (HIY_IMAGE_*) and per app (the app's build_images setting), so an air-gapped
 * box or a test can point them at images already on the engine: nothing is pulled when the
 * image is present.
 */
export interface BuildImages {
  /** Node.js with npm (install and run stages). */
  node: string;
  /** Python 3 with pip (pip is needed only when requirements.txt lists packages). */
  python: string;
  /** The Go toolchain (build stage). */
  go: string;
  /** Where a built Go binary runs: anything with /bin/sh. */
  goRuntime: string;
  /** Serves static sites: must provide busybox `httpd`. */
  static: string;
}

export const BUILD_IMAGE_KEYS = ['node', 'python', 'go', 'goRuntime', 'static'] as const satisfies readonly (keyof BuildImages)[];

export const DEFAULT_BUILD_IMAGES: BuildImages = {
  node: 'node:22-bookworm-slim',
  python: 'python:3.12-slim',
  go: 'golang:1.23-bookworm',
  goRuntime: 'debian:bookworm-slim',
  static: 'busybox:1.36',
};

/** HIY_IMAGE_NODE, … : the env variable of each key. */
export const BUILD_IMAGE_ENV: Record<keyof BuildImages, string> = {
  node: 'HIY_IMAGE_NODE',
  python: 'HIY_IMAGE_PYTHON',
  go: 'HIY_IMAGE_GO',
  goRuntime: 'HIY_IMAGE_GO_RUNTIME',
  static: 'HIY_IMAGE_STATIC',
};

// A Docker image reference (name[:tag][@digest]) without anything a Dockerfile line could trip on.
const IMAGE_RE = /^(?:[a-z0-9][a-z0-9.-]{0,99}(?::\d{1,5})?\/)?[a-z0-9][a-z0-9._/-]{0,199}(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export function isImageRef(v: unknown): v is string {
  return typeof v === 'string' && IMAGE_RE.test(v) && !v.includes('..') && !v.includes('//');
}

/** Reads HIY_IMAGE_* (fail() throws the config error). */
export function buildImagesFromEnv(env: Record<string, string | undefined>, fail: (name: string, message: string) => never): BuildImages {
  const out = { ...DEFAULT_BUILD_IMAGES };
  for (const key of BUILD_IMAGE_KEYS) {
    const raw = env[BUILD_IMAGE_ENV[key]];
    if (raw === undefined || raw === '') continue;
    if (!isImageRef(raw)) fail(BUILD_IMAGE_ENV[key], `"${raw}" is not an image reference (for example node:22-bookworm-slim)`);
    out[key] = raw;
  }
  return out;
}

/** Validates an app's build_images object (keys of BuildImages, image references as values). */
export function parseAppBuildImages(v: unknown): Partial<BuildImages> {
  const rule = `build_images must be an object with some of ${BUILD_IMAGE_KEYS.join(', ')} mapped to image references (for example {"node": "node:20-bookworm-slim"})`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HiyError('invalid_input', rule);
  const out: Partial<BuildImages> = {};
  for (const [k, image] of Object.entries(v)) {
    if (!(BUILD_IMAGE_KEYS as readonly string[]).includes(k)) throw new HiyError('invalid_input', `${rule}; unknown key "${k.slice(0, 30)}"`);
    if (!isImageRef(image)) throw new HiyError('invalid_input', `${rule}; "${String(image).slice(0, 80)}" is not an image reference`);
    out[k as keyof BuildImages] = image;
  }
  return out;
}

/** The app's images: its own choices over the global ones. A stored value that no longer parses is ignored. */
export function imagesForApp(global: BuildImages, stored: string | null): BuildImages {
  if (!stored) return global;
  try {
    return { ...global, ...parseAppBuildImages(JSON.parse(stored)) };
  } catch {
    return global;
  }
}

/** Images of data services (src/addons): the official ones by default, any image keeping their documented contract. */
export interface AddonImages {
  postgres: string;
  redis: string;
}

export const DEFAULT_ADDON_IMAGES: AddonImages = { postgres: 'postgres:17-bookworm', redis: 'redis:7-bookworm' };
export const ADDON_IMAGE_ENV: Record<keyof AddonImages, string> = { postgres: 'HIY_IMAGE_POSTGRES', redis: 'HIY_IMAGE_REDIS' };

/** Reads HIY_IMAGE_POSTGRES / HIY_IMAGE_REDIS (fail() throws the config error). */
export function addonImagesFromEnv(env: Record<string, string | undefined>, fail: (name: string, message: string) => never): AddonImages {
  const out = { ...DEFAULT_ADDON_IMAGES };
  for (const key of ['postgres', 'redis'] as const) {
    const raw = env[ADDON_IMAGE_ENV[key]];
    if (raw === undefined || raw === '') continue;
    if (!isImageRef(raw)) fail(ADDON_IMAGE_ENV[key], `"${raw}" is not an image reference (for example ${DEFAULT_ADDON_IMAGES[key]})`);
    out[key] = raw;
  }
  return out;
}
