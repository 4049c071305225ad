/**
 * Login throttling per client address: a few free failures, then a lock that doubles with each
 * further failure, up to a cap. In memory (one instance per server): a restart forgets it, which
 * costs an attacker a restart they cannot cause. fail2ban (auth_failed log lines) is the layer
 * that lasts.
 */
export interface ThrottlePolicy {
  /** Failures allowed within `windowMs` before the first lock. */
  freeFailures: number;
  windowMs: number;
  firstLockMs: number;
  maxLockMs: number;
  /** Addresses remembered at most (oldest forgotten first), so a flood cannot grow memory without bound. */
  maxEntries: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { freeFailures: 5, windowMs: 15 * 60_000, firstLockMs: 60_000, maxLockMs: 15 * 60_000, maxEntries: 10_000 };

interface Entry {
  failures: number;
  firstFailureAt: number;
  lockedUntil: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE) {}

  /** Milliseconds until `ip` may try again; 0 when it may try now. */
  retryAfterMs(ip: string, now = Date.now()): number {
    const e = this.entries.get(ip);
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - now);
  }

  /** Records a failure; returns the lock it caused (0 while failures are still free). */
  fail(ip: string, now = Date.now()): number {
    let e = this.entries.get(ip);
    if (!e || now - e.firstFailureAt > this.policy.windowMs && e.lockedUntil <= now) {
      e = { failures: 0, firstFailureAt: now, lockedUntil: 0 };
    }
    e.failures++;
    const over = e.failures - this.policy.freeFailures;
    if (over > 0) {
      const lock = Math.min(this.policy.maxLockMs, this.policy.firstLockMs * 2 ** Math.min(over - 1, 30));
      e.lockedUntil = now + lock;
    }
    this.entries.delete(ip);
    this.entries.set(ip, e);
    this.prune(now);
    return Math.max(0, e.lockedUntil - now);
  }

  succeed(ip: string): void {
    this.entries.delete(ip);
  }

  size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    if (this.entries.size <= this.policy.maxEntries) return;
    for (const [ip, e] of this.entries) {
      if (this.entries.size <= this.policy.maxEntries) break;
      // Map order is insertion order, and fail() re-inserts: the first entries are the stalest.
      if (e.lockedUntil <= now || this.entries.size > this.policy.maxEntries) this.entries.delete(ip);
    }
  }
}

/**
 * At most `limit` password hashes at once: each scrypt takes 128 MiB, and a burst of logins from
 * many addresses must not take a Pi's memory.
 */
export class HashGate {
  private active = 0;
  constructor(private readonly limit = 2) {}

  /** Runs `fn` when a slot is free now; returns undefined (busy) otherwise. */
  async tryRun<T>(fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.limit) return undefined;
    this.active++;
    try {
      return { value: await fn() };
    } finally {
      this.active--;
    }
  }
}

export function formatWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
