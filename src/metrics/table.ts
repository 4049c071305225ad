/** Per-app resource samples: `res` 0 = points as sampled (kept an hour), 60 = one-minute averages (kept a day). */
export interface AppMetricsTable {
  app: string;
  res: number;
  /** Unix seconds, start of the interval. */
  t: number;
  cpu_pct: number;
  memory_bytes: number;
}

export interface HostMetricsTable {
  res: number;
  t: number;
  cpu_pct: number;
  memory_used: number;
  memory_total: number;
  disk_used: number;
  disk_total: number;
}
