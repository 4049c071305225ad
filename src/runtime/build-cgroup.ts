import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Docker } from './docker-client.js';
import type { Logger } from '../log.js';

const run = promisify(execFile);

/** Every build's RUN containers go below this cgroup; its limits hold for all of them together. */
export const BUILD_CGROUP = 'hiy-build';
/** Processes and threads all builds may have at once: a fork bomb stops here, not at the host's pid_max. */
export const BUILD_PIDS_MAX = 1024;
/** Builds yield the CPU to running apps and to hiy (the default weight is 1024 / cpu.weight 100). */
export const BUILD_CPU_SHARES = 256;

/**
 * The engine's build API has memory and CPU options but no pids limit: a `RUN` fork bomb would
 * fill the host's process table (pid_max is 32768 on many systems) and take hiy, sshd and every
 * app down with it. Build containers are therefore put below a parent cgroup with a pids limit
 * (and a low CPU weight), which the kernel enforces for everything beneath it.
 *
 * - cgroupfs driver: hiy creates /sys/fs/cgroup/[pids/]hiy-build and writes the limits (as root).
 * - systemd driver: the parent is the slice hiy-build.slice, limited with `systemctl set-property`.
 * Returns the cgroup parent for the build API, or undefined (with a warning) when no limit could
 * be set, in which case builds run unlimited as before.
 */
export async function prepareBuildCgroup(docker: Docker, log: Logger, pidsMax = BUILD_PIDS_MAX): Promise<string | undefined> {
  try {
    const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
    if (info.CgroupDriver === 'systemd') {
      const slice = `${BUILD_CGROUP}.slice`;
      await run('systemctl', ['set-property', '--runtime', slice, `TasksMax=${pidsMax}`, `CPUWeight=${Math.round(BUILD_CPU_SHARES / 10.24)}`]);
      return slice;
    }
    if (info.CgroupVersion === '2') {
      const dir = join('/sys/fs/cgroup', BUILD_CGROUP);
      await enableControllers('/sys/fs/cgroup', BUILD_CGROUP);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'pids.max'), String(pidsMax));
      await writeFile(join(dir, 'cpu.weight'), String(Math.round(BUILD_CPU_SHARES / 10.24))).catch(() => undefined);
      await check(join(dir, 'pids.max'), pidsMax);
    } else {
      const pids = join('/sys/fs/cgroup/pids', BUILD_CGROUP);
      await mkdir(pids, { recursive: true });
      await writeFile(join(pids, 'pids.max'), String(pidsMax));
      await check(join(pids, 'pids.max'), pidsMax);
      const cpu = join('/sys/fs/cgroup/cpu', BUILD_CGROUP);
      await mkdir(cpu, { recursive: true }).then(() => writeFile(join(cpu, 'cpu.shares'), String(BUILD_CPU_SHARES))).catch(() => undefined);
    }
    return `/${BUILD_CGROUP}`;
  } catch (err) {
    log.warn({ err }, `builds run without a process limit: the ${BUILD_CGROUP} cgroup could not be set up (a fork bomb in a Dockerfile could exhaust the host's processes)`);
    return undefined;
  }
}

/**
 * cgroup v2 with the cgroupfs driver (install.sh's choice on systemd boxes): a folder hiy makes
 * below the root has only the controllers each parent hands down in cgroup.subtree_control, and
 * systemd enables there only what its own units use. runc enables them for the engine's
 * containers as it creates their cgroups; hiy's folders are made before any build, so it hands
 * down pids, memory and cpu itself along `rel` (each parent holds no processes of its own, as v2
 * requires). cpu may be missing (a kernel without it): builds then keep the default weight.
 */
export async function enableControllers(root: string, rel: string): Promise<void> {
  let dir = root;
  for (const part of ['', ...rel.split('/').slice(0, -1)]) {
    dir = join(dir, part);
    await mkdir(dir, { recursive: true });
    for (const c of ['pids', 'memory', 'cpu']) {
      await writeFile(join(dir, 'cgroup.subtree_control'), `+${c}`).catch((err: unknown) => {
        if (c === 'cpu') return;
        throw err;
      });
    }
  }
}

async function check(file: string, want: number): Promise<void> {
  const got = (await readFile(file, 'utf8')).trim();
  if (got !== String(want)) throw new Error(`${file} holds ${got}, not ${want}`);
}
