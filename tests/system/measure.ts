/**
 * Figures the system tests measure (times in ms, or a short text), printed as one table when a
 * suite ends so every run of `npm test` shows them; docs/setup.md quotes them.
 */
const figures = new Map<string, number | string>();

type Measured = {
  /** Runs `fn` and records how long it took, or the number `pick` takes from its result. */
  <T>(name: string, fn: () => Promise<T>, pick?: (r: T) => number): Promise<T>;
  set(name: string, value: number | string): void;
};

export const measured: Measured = Object.assign(
  async <T>(name: string, fn: () => Promise<T>, pick?: (r: T) => number): Promise<T> => {
    const t0 = Date.now();
    const r = await fn();
    figures.set(name, pick ? pick(r) : Date.now() - t0);
    return r;
  },
  { set: (name: string, value: number | string) => { figures.set(name, value); } },
);

export function printMeasurements(title: string): void {
  const lines = [...figures].map(([k, v]) => `  ${k.padEnd(52)} ${typeof v === 'number' ? `${(v / 1000).toFixed(1)} s` : v}`);
  // stdout of a test file reaches the runner's output as it is: one block, easy to find in CI logs.
  console.log(`\n${title}: measured\n${lines.join('\n')}\n`);
  figures.clear();
}

/** Why the system tests cannot run here, or false. Root is needed for nspawn, mounts and cgroups. */
export const SYSTEM_SKIP: string | false =
  process.platform !== 'linux' ? 'needs Linux'
    : process.getuid?.() !== 0 ? 'needs root: systemd-nspawn, overlay mounts, cgroups'
      : false;
