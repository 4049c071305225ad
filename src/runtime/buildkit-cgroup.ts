import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { BUILD_CPU_SHARES, BUILD_PIDS_MAX, enableControllers } from './build-cgroup.js';
import type { Docker } from './docker-client.js';

/**
 * BuildKit inside the engine runs RUN steps with its own executor: the build API's memory and
 * cgroup-parent options are ignored (measured on Engine 20.10: a step saw no memory limit and sat
 * in /docker/buildkit/<id>). With the cgroupfs driver every step's cgroup lies below the engine's
 * `docker/buildkit`, so hiy bounds that parent as it bounds the classic builder's (build-cgroup.ts):
 * processes, CPU weight, and before each build the build's memory (one build runs at a time, the
 * deploy queue has one worker). With the systemd driver (measured on Engine 20.10, cgroup v2) each
 * step is a cgroup of its own directly in system.slice (`system.slice:docker:<id>`; a daemon
 * cgroup-parent P makes it `P:docker:<id>` next to them, a build's cgroup parent changes nothing):
 * no common parent to bound, so there BuildKit is not used at all (Builder.cacheMounts answers
 * false) and install.sh sets the cgroupfs driver on systemd boxes (decision 52).
 */
export interface BuildkitLimits {
  /** Sets the memory all BuildKit steps may use together, in MB (0: no limit). */
  setMemory(mb: number): Promise<void>;
}

const V1 = '/sys/fs/cgroup';
const PARENT = join('docker', 'buildkit');

async function write(file: string, value: string): Promise<void> {
  await writeFile(file, value);
}

async function expect(file: string, want: string): Promise<void> {
  const got = (await readFile(file, 'utf8')).trim();
  if (got !== want) throw new Error(`${file} holds ${got}, not ${want}`);
}

/** A daemon.json that moves containers to another cgroup parent: BuildKit's steps go there too. */
async function customCgroupParent(): Promise<boolean> {
  const text = await readFile('/etc/docker/daemon.json', 'utf8').catch(() => '');
  return /"cgroup-parent"\s*:/.test(text);
}

export async function prepareBuildkitCgroup(docker: Docker, log: Logger): Promise<BuildkitLimits | undefined> {
  try {
    const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
    if (info.CgroupDriver !== 'cgroupfs') {
      log.info({ driver: info.CgroupDriver }, `BuildKit is not used (no dependency caches): with the ${info.CgroupDriver} cgroup driver its build steps cannot be held to the build limits; set "exec-opts": ["native.cgroupdriver=cgroupfs"] in /etc/docker/daemon.json (docs/build-strategies.md)`);
      return undefined;
    }
    if (await customCgroupParent()) {
      log.info('BuildKit is not used (no dependency caches): /etc/docker/daemon.json sets a cgroup-parent, so its build steps are not where hiy bounds them');
      return undefined;
    }
    if (info.CgroupVersion === '2') {
      const dir = join(V1, PARENT);
      await enableControllers(V1, PARENT);
      await mkdir(dir, { recursive: true });
      await write(join(dir, 'pids.max'), String(BUILD_PIDS_MAX));
      await expect(join(dir, 'pids.max'), String(BUILD_PIDS_MAX));
      await write(join(dir, 'cpu.weight'), String(Math.round(BUILD_CPU_SHARES / 10.24))).catch(() => undefined);
      return {
        async setMemory(mb) {
          await write(join(dir, 'memory.max'), mb > 0 ? String(mb * 1024 * 1024) : 'max');
          await write(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
        },
      };
    }
    const pids = join(V1, 'pids', PARENT);
    const memory = join(V1, 'memory', PARENT);
    await mkdir(pids, { recursive: true });
    await mkdir(memory, { recursive: true });
    await write(join(pids, 'pids.max'), String(BUILD_PIDS_MAX));
    await expect(join(pids, 'pids.max'), String(BUILD_PIDS_MAX));
    const cpu = join(V1, 'cpu', PARENT);
    await mkdir(cpu, { recursive: true }).then(() => write(join(cpu, 'cpu.shares'), String(BUILD_CPU_SHARES))).catch(() => undefined);
    return {
      async setMemory(mb) {
        const limit = mb > 0 ? String(mb * 1024 * 1024) : '-1';
        // memsw (where swap is accounted) must stay >= the memory limit at every moment.
        const memsw = join(memory, 'memory.memsw.limit_in_bytes');
        await write(memsw, '-1').catch(() => undefined);
        await write(join(memory, 'memory.limit_in_bytes'), limit);
        await write(memsw, limit).catch(() => undefined);
      },
    };
  } catch (err) {
    log.warn({ err }, 'BuildKit is not used (no dependency caches): its build steps could not be held to the build limits');
    return undefined;
  }
}
