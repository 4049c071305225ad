/**
 * Which images this box can run. An image built for another CPU (an amd64 image on an arm64 Pi,
 * or the reverse) would start and die with "exec format error", or run slowly under emulation
 * where binfmt is set up: either way it is refused before anything of it starts.
 */
import { HiyError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

// What uname, Node and older tools call the architectures the engine names amd64 and arm64.
const ALIASES: Record<string, string> = { x86_64: 'amd64', x86: '386', i386: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm', armv7l: 'arm', armv6l: 'arm' };

export function normalizePlatform(p: Platform): Platform {
  const architecture = ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  // arm64's only variant is v8: saying it or not is the same platform.
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  return { os: p.os.toLowerCase(), architecture, ...(variant ? { variant } : {}) };
}

export const platformName = (p: Platform): string => {
  const n = normalizePlatform(p);
  return `${n.os}/${n.architecture}${n.variant ? `/${n.variant}` : ''}`;
};

/** True when an image for `image` runs natively on `host`; an unknown variant on either side is not held against it. */
export function runsOn(image: Platform, host: Platform): boolean {
  const i = normalizePlatform(image);
  const h = normalizePlatform(host);
  if (i.os !== h.os || i.architecture !== h.architecture) return false;
  return !i.variant || !h.variant || i.variant === h.variant;
}

/**
 * Refuses an image none of whose platforms (one per entry of a multi-platform image) runs here,
 * naming what the image is for and what this box is.
 */
export function requireRunnable(image: string, platforms: Platform[], host: Platform): void {
  if (platforms.length === 0 || platforms.some((p) => runsOn(p, host))) return;
  const offered = [...new Set(platforms.map(platformName))].join(', ');
  throw new HiyError('deploy_failed', `${image} is built for ${offered}, but this box runs ${platformName(host)}: build it for ${platformName(host)} (docker buildx build --platform ${platformName(host)}), nothing was started`);
}
