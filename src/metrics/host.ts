import { readFile, statfs } from 'node:fs/promises';

/** Jiffies since boot from the first line of /proc/stat: everything, and the idle part. */
export interface CpuTimes {
  total: number;
  idle: number;
  /** Number of cpuN lines: cores online. */
  cores: number;
}

export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return undefined;
  return { total: f.reduce((a, b) => a + b, 0), idle: (f[3] ?? 0) + (f[4] ?? 0), cores: (text.match(/^cpu\d+ /gm) ?? []).length || 1 };
}

/** Busy share of all cores between two readings, 0-100. */
export function cpuPercent(prev: CpuTimes, now: CpuTimes): number {
  const total = now.total - prev.total;
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, (100 * (total - (now.idle - prev.idle))) / total));
}

export interface MemoryUse {
  total: number;
  used: number;
}

/** Used = total - MemAvailable (what `free` calls available: page cache the kernel can drop is not "used"). */
export function parseMeminfo(text: string): MemoryUse | undefined {
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable') ?? kb('MemFree');
  if (total === undefined || available === undefined) return undefined;
  return { total, used: Math.max(0, total - available) };
}

export interface DiskUse {
  total: number;
  used: number;
}

/** As df counts it: the blocks reserved for root are neither used nor available to hiy. */
export async function diskUse(path: string): Promise<DiskUse> {
  const s = await statfs(path);
  const used = (s.blocks - s.bfree) * s.bsize;
  return { total: used + s.bavail * s.bsize, used };
}

export async function readCpuTimes(procRoot = '/proc'): Promise<CpuTimes | undefined> {
  return parseProcStat(await readFile(`${procRoot}/stat`, 'utf8'));
}

export async function readMemory(procRoot = '/proc'): Promise<MemoryUse | undefined> {
  return parseMeminfo(await readFile(`${procRoot}/meminfo`, 'utf8'));
}

export const percent = (used: number, total: number): number => (total > 0 ? (100 * used) / total : 0);
