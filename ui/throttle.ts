import { addressKey } from '../src/client-address.js';
import { isLoopback } from '../src/trusted-proxies.js';

/**
 * Login throttling, in two layers (docs/dashboard.md, "Sign-in throttling"):
 * - per client address (IPv6 by /64: one subscriber picks any address in it): a few free
 *   failures, then a lock that doubles with each further failure, up to a cap;
 * - a global failure budget: past `globalFailures` failures within the window, from whatever
 *   addresses, sign-in is paused for addresses that never signed in successfully. Addresses that
 *   did (within `knownForMs`) and the box itself (an SSH tunnel to HIY_LISTEN) keep their
 *   per-address limits only, so the operator can still sign in while a distributed guess runs.
 * In memory (one instance per server): a restart forgets it, which costs an attacker a restart
 * they cannot cause. fail2ban (auth_failed log lines) is the layer that lasts.
 */
export interface ThrottlePolicy {
  /** Failures allowed within `windowMs` before the first lock. */
  freeFailures: number;
  windowMs: number;
  firstLockMs: number;
  maxLockMs: number;
  /** Addresses remembered at most (oldest forgotten first), so a flood cannot grow memory without bound. */
  maxEntries: number;
  /** Failures from all addresses together within `windowMs` that pause sign-in for unknown addresses. */
  globalFailures: number;
  /** How long an address that signed in successfully counts as known. */
  knownForMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  freeFailures: 5, windowMs: 15 * 60_000, firstLockMs: 60_000, maxLockMs: 15 * 60_000, maxEntries: 10_000,
  globalFailures: 20, knownForMs: 30 * 24 * 3600_000,
};

/** Why a sign-in may not be tried now, and for how long. */
export type Refusal = { reason: 'address' | 'paused'; waitMs: number };

interface Entry {
  failures: number;
  firstFailureAt: number;
  lockedUntil: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  /** Times of the last `globalFailures` failures, oldest first. */
  private readonly recent: number[] = [];
  /** Address keys that signed in, and when. */
  private readonly known = new Map<string, number>();

  constructor(private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE) {}

  /** Milliseconds until `ip` may try again; 0 when it may try now. */
  retryAfterMs(ip: string, now = Date.now()): number {
    const e = this.entries.get(addressKey(ip));
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - now);
  }

  /** Milliseconds the global pause lasts (0: none): the budget of failures is spent within the window. */
  pausedForMs(now = Date.now()): number {
    const oldest = this.recent.length >= this.policy.globalFailures ? this.recent[0] : undefined;
    return oldest === undefined ? 0 : Math.max(0, oldest + this.policy.windowMs - now);
  }

  /** Whether `ip` may try a password now: its own lock first, then the global pause (unless it is known or local). */
  check(ip: string, now = Date.now()): Refusal | undefined {
    const own = this.retryAfterMs(ip, now);
    if (own > 0) return { reason: 'address', waitMs: own };
    const paused = this.pausedForMs(now);
    if (paused > 0 && !this.isKnown(ip, now)) return { reason: 'paused', waitMs: paused };
    return undefined;
  }

  /** The box itself, or an address that signed in successfully within knownForMs. */
  isKnown(ip: string, now = Date.now()): boolean {
    if (isLoopback(ip)) return true;
    const at = this.known.get(addressKey(ip));
    return at !== undefined && now - at <= this.policy.knownForMs;
  }

  /** Remembers an address that signed in (also used to seed from live sessions at start). */
  remember(ip: string, at = Date.now()): void {
    const key = addressKey(ip);
    this.known.delete(key);
    this.known.set(key, at);
    if (this.known.size > this.policy.maxEntries) this.known.delete(this.known.keys().next().value!);
  }

  /** Records a failure; returns the lock it caused (0 while failures are still free). */
  fail(rawIp: string, now = Date.now()): number {
    this.recent.push(now);
    if (this.recent.length > this.policy.globalFailures) this.recent.shift();
    const ip = addressKey(rawIp);
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

  succeed(ip: string, now = Date.now()): void {
    this.entries.delete(addressKey(ip));
    this.remember(ip, now);
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
