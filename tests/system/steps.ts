import { test, type TestContext } from 'node:test';

/**
 * Tests that run in order on one guest, each building on the one before: once one fails, the
 * rest skip, naming it, instead of failing slowly on what it left behind.
 */
export function steps(): (name: string, fn: (t: TestContext) => Promise<void>) => void {
  let failed: string | undefined;
  return (name, fn) => {
    test(name, async (t) => {
      if (failed) {
        t.skip(`"${failed}" failed`);
        return;
      }
      try {
        await fn(t);
      } catch (err) {
        failed = name;
        throw err;
      }
    });
  };
}
