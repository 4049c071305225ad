import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redeployUnderLoad } from '../helpers/redeploy-under-load.js';

// Correctness, not speed: not one request may fail because of a deploy. bench/zero-downtime runs
// the same scenario with more load and more deploys and prints the figures.
test('keep-alive clients see no failed request across redeploys and a rollback', { timeout: 600_000 }, async () => {
  const r = await redeployUnderLoad({ deploys: 3, rollbacks: 1, keepAliveConnections: 8, freshConnectionLoops: 0 });
  assert.ok(r.sent > 500, `enough requests were sent (${r.sent})`);
  assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
  assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
  for (const v of ['v0\n', 'v1\n', 'v2\n', 'v3\n']) assert.ok(r.bodies.has(v), `clients saw ${JSON.stringify(v)}`);
});

// Known open bug (issue #4): while deploys run, a client that opens a new connection per request
// sees about one ECONNRESET per 5,000 requests (none without deploys; keep-alive clients none).
// bench/zero-downtime still measures it; this test is the proof to turn on once it is fixed.
test('fresh-connection clients see no failed request across redeploys (skipped: about 1 ECONNRESET per 5,000 requests during deploys, issue #4 open)', { timeout: 600_000, skip: true }, async () => {
  const r = await redeployUnderLoad({ deploys: 3, rollbacks: 1, keepAliveConnections: 0, freshConnectionLoops: 4 });
  assert.ok(r.sent > 500, `enough requests were sent (${r.sent})`);
  assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
  assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
});
