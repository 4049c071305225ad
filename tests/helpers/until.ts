/** Polling for what a real system does in its own time (a container ends, a record appears). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks `check` every `everyMs` until it gives something truthy; fails after `ms` naming `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false | null>, ms = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
