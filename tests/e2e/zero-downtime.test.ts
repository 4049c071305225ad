import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redeployUnderLoad } from '../helpers/redeploy-under-load.js';

// Correctness, not speed: not one request may fail because of a deploy. bench/zero-downtime runs
// the same scenario with more load and more deploys and prints the figures.
test('keep-alive and fresh-connection clients see no failed request across redeploys and a rollback', { timeout: 600_000 }, async () => {
  const r = await redeployUnderLoad({ deploys: 3, rollbacks: 1, keepAliveConnections: 8, freshConnectionLoops: 2 });
  assert.ok(r.sent > 500, `enough requests were sent (${r.sent})`);
  assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
  assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
  for (const v of ['v0\n', 'v1\n', 'v2\n', 'v3\n']) assert.ok(r.bodies.has(v), `clients saw ${JSON.stringify(v)}`);
});
