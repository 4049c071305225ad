import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { placementFromFlags, placementWords } from './cmd/apps.js';
import { UsageError } from './errors.js';

describe('hiy update\'s placement flags', () => {
  test('repeated --node-label is one set of labels; --node-label-clear is null; --spread / --no-spread', () => {
    assert.deepEqual(placementFromFlags({ flags: { 'node-label': ['role=fast', 'disk=ssd'] } }), { node_labels: { role: 'fast', disk: 'ssd' } });
    assert.deepEqual(placementFromFlags({ flags: { 'node-label': ['zone=a=b'] } }), { node_labels: { zone: 'a=b' } }, 'the value is what follows the first =; the server judges it');
    assert.deepEqual(placementFromFlags({ flags: { 'node-label-clear': true, spread: true } }), { node_labels: null, spread: true });
    assert.deepEqual(placementFromFlags({ flags: { 'no-spread': true } }), { spread: false });
    assert.deepEqual(placementFromFlags({ flags: {} }), {});
  });

  test('contradictions and a label without = are usage errors', () => {
    assert.throws(() => placementFromFlags({ flags: { 'node-label': ['role'] } }), UsageError);
    assert.throws(() => placementFromFlags({ flags: { 'node-label': ['=x'] } }), /KEY=VALUE/);
    assert.throws(() => placementFromFlags({ flags: { 'node-label': ['role='] } }), /KEY=VALUE/);
    assert.throws(() => placementFromFlags({ flags: { 'node-label': ['role=x'], 'node-label-clear': true } }), /contradict/);
    assert.throws(() => placementFromFlags({ flags: { spread: true, 'no-spread': true } }), /contradict/);
  });

  test('in words for hiy info', () => {
    assert.equal(placementWords({ node_labels: { role: 'fast' }, spread: true }), 'nodes with role=fast, spread');
    assert.equal(placementWords({ node_labels: {}, spread: false }), 'any node, no spread');
  });
});
