/**
 * The decisions behind alerts, without I/O or clocks of their own, so they can be tested exactly.
 * Each returns 'open' once when an incident starts and 'resolve' once when it ends; everything
 * else is 'none' (no flood: one notification per incident plus one "resolved").
 */
export type Transition = 'open' | 'resolve' | 'none';

/** Above `limit` opens; back under `limit - hysteresis` resolves (a value hovering at the limit does not flap). */
export class ThresholdRule {
  private firing: boolean;

  constructor(private readonly limit: number, private readonly hysteresis = 2, firing = false) {
    this.firing = firing;
  }

  update(value: number): Transition {
    if (!this.firing && value > this.limit) {
      this.firing = true;
      return 'open';
    }
    if (this.firing && value < this.limit - this.hysteresis) {
      this.firing = false;
      return 'resolve';
    }
    return 'none';
  }
}

/** Failing continuously for `afterMs` opens; the first success resolves. */
export class DownRule {
  private downSince: number | undefined;
  private firing: boolean;

  constructor(private readonly afterMs: number, firing = false) {
    this.firing = firing;
  }

  update(ok: boolean, now: number): Transition {
    if (ok) {
      this.downSince = undefined;
      if (!this.firing) return 'none';
      this.firing = false;
      return 'resolve';
    }
    this.downSince ??= now;
    if (!this.firing && now - this.downSince >= this.afterMs) {
      this.firing = true;
      return 'open';
    }
    return 'none';
  }

  /** Milliseconds the check has been failing (0 when it answers). */
  downFor(now: number): number {
    return this.downSince === undefined ? 0 : now - this.downSince;
  }
}

/**
 * Restart counts of an app's containers: `restarts` restarts within `windowMs` open; a whole window
 * without one resolves. Counts are per container (a new container starts from 0 again).
 */
export class CrashLoopRule {
  private readonly counts = new Map<string, number>();
  private restartsAt: number[] = [];
  private firing: boolean;

  constructor(private readonly restarts: number, private readonly windowMs: number, firing = false) {
    this.firing = firing;
  }

  update(containers: { id: string; restartCount: number }[], now: number): Transition {
    for (const c of containers) {
      const before = this.counts.get(c.id);
      if (before !== undefined && c.restartCount > before) {
        for (let i = 0; i < Math.min(c.restartCount - before, this.restarts); i++) this.restartsAt.push(now);
      }
      this.counts.set(c.id, c.restartCount);
    }
    const alive = new Set(containers.map((c) => c.id));
    for (const id of this.counts.keys()) if (!alive.has(id)) this.counts.delete(id);
    this.restartsAt = this.restartsAt.filter((t) => now - t < this.windowMs);
    if (!this.firing && this.restartsAt.length >= this.restarts) {
      this.firing = true;
      return 'open';
    }
    if (this.firing && this.restartsAt.length === 0) {
      this.firing = false;
      return 'resolve';
    }
    return 'none';
  }

  recent(): number {
    return this.restartsAt.length;
  }
}
