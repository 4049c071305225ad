/**
 * The install step of a generated Node.js build with a dependency cache (docs/build-strategies.md,
 * "Dependency caches"). As Heroku's Node.js buildpack keeps node_modules between builds, the app's
 * own cache mount keeps the node_modules of its last build next to npm's download cache, and a
 * changed lockfile lets npm update that tree in place: adding one dependency unpacks one package
 * instead of reinstalling all of them. Pure function; nodeDockerfile puts the step in.
 *
 * The result must be what a clean `npm ci` of the lockfile installs, so the reuse is guarded:
 * - the kept tree is used only when it is exactly what the last build left (a checksum of every
 *   file and link, written after a successful install) and was made by the same node version,
 *   CPU and install mode; anything else (damage, an interrupted build, another node) starts over;
 * - `npm install` over the kept tree installs the lockfile's versions and removes what the
 *   lockfile no longer has; if it fails or would change the lockfile (package.json and the
 *   lockfile disagree), the tree is dropped and a clean `npm ci` decides, with npm ci's error;
 * - only the tree is taken into the image (one copy out of the cache mount, which the image
 *   needs anyway); the stamp and checksums stay in the cache. Without a build script the step
 *   runs in the final image itself (inFinalImage): no second copy from a deps stage.
 * Without a lockfile there is nothing to equal, so `npm install` resolves afresh as before.
 */

export interface NpmInstallStep {
  /** The mount flag of the app's cache (cache-mounts.ts) and where it is mounted. */
  mount: string;
  cacheDir: string;
  /** The lockfile at the root (package-lock.json or npm-shrinkwrap.json). */
  lockfile: string;
  /** `--omit=dev` (no build script), else devDependencies are installed too. */
  omitDev: boolean;
  /** The step runs in the final image: npm's settings for the install only, and the tree owned by this uid:gid. */
  inFinalImage?: { owner: string } | undefined;
}

/** The kept tree's folder in the cache mount, one per install mode (npm's own files are `_cacache`, `_logs`). */
export const keptTreeDir = (cacheDir: string, omitDev: boolean): string => `${cacheDir}/hiy-node_modules-${omitDev ? 'prod' : 'all'}`;

/** Shell words are only hiy's own paths and the lockfile's name (both [A-Za-z0-9/._-]), so no quoting is needed beyond what is written here. */
export function npmInstallStep(s: NpmInstallStep): string {
  const T = keptTreeDir(s.cacheDir, s.omitDev);
  const L = s.lockfile;
  // --prefer-offline: a package in the cache is not asked for again. loglevel http lists each
  // download ("(cache miss)"); what comes from the cache is silent, so the output shows what was new.
  const args = `${s.omitDev ? '--omit=dev ' : ''}--prefer-offline --cache=${s.cacheDir} --loglevel=http`;
  const script = [
    'set -e',
    ...(s.inFinalImage ? ['export NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false NPM_CONFIG_LOGLEVEL=warn'] : []),
    `T=${T}`,
    // node's version and the CPU decide whether native modules built before still load. npm's
    // version is left out (asking it costs 0.3 s): npm install makes any kept tree the lockfile's.
    `K="$(node -v) $(uname -m) ${s.omitDev ? 'omit=dev' : 'all'}"`,
    // Every file's checksum and every link of the tree, in a stable order.
    'sums() { (cd "$T" && find node_modules -type f -exec cksum {} + | LC_ALL=C sort && find node_modules -type l | LC_ALL=C sort); }',
    'if [ -d "$T/node_modules" ] && [ "$(cat "$T/stamp" 2>/dev/null)" = "$K" ] && [ "$(sums)" = "$(cat "$T/sums")" ]; then echo "hiy: updating the node_modules of the last build in place"',
    'elif [ -d "$T" ]; then echo "hiy: the kept node_modules are not what the last build left (damaged, interrupted, or another node): clean install"; rm -rf "$T"',
    'fi',
    'mkdir -p "$T"',
    // No stamp while npm works: a build that stops half-way leaves a tree the next one does not trust.
    'rm -f "$T/stamp" "$T/sums"',
    `cp package.json ${L} "$T/"`,
    'cd "$T"',
    `if [ -d node_modules ] && npm install ${args} && [ "$(cat ${L})" = "$(cat /app/${L})" ]; then :`,
    `elif [ -d node_modules ]; then echo "hiy: npm install over the kept node_modules failed or changed ${L}: clean npm ci"; rm -rf node_modules; cp /app/${L} ${L}; npm ci ${args}`,
    `else npm ci ${args}`,
    'fi',
    // A lockfile without dependencies: npm makes no node_modules, and the steps below need one.
    'mkdir -p node_modules',
    'sums > sums',
    'echo "$K" > stamp',
    'cp -a node_modules /app/',
    // In the final image the tree is the app user's, as COPY --chown makes it in the two-stage build.
    ...(s.inFinalImage ? [`chown -R ${s.inFinalImage.owner} /app/node_modules`] : []),
  ];
  return `RUN ${s.mount} \\\n    ${script.join('; \\\n    ')}`;
}
