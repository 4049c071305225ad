import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HiyError } from '../errors.js';
import { parseUpdateApp } from './input.js';
import { describeLabels, MAX_NODE_LABELS, placementOf, validateNodeLabels, validateSpread } from './placement.js';

describe('an app\'s placement at the boundary', () => {
  test('labels are stored as sorted JSON; {} and null mean any node', () => {
    assert.equal(validateNodeLabels({ role: 'fast', disk: 'ssd' }), '{"disk":"ssd","role":"fast"}');
    assert.equal(validateNodeLabels({}), null);
    assert.equal(validateNodeLabels(null), null);
    assert.deepEqual(parseUpdateApp({ node_labels: { role: 'fast' }, spread: false }), { node_labels: '{"role":"fast"}', spread: 0 });
  });

  test('bad keys, values and shapes are refused with what is allowed', () => {
    const refused = (v: unknown, re: RegExp) => assert.throws(() => validateNodeLabels(v), (err: HiyError) => err.code === 'invalid_input' && re.test(err.message));
    refused({ Role: 'x' }, /node label key "Role" must be lower-case letters/);
    refused({ 'a b': 'x' }, /node label key "a b"/);
    refused({ '-x': 'x' }, /starting and ending with a letter or digit/);
    refused({ role: '' }, /not empty \(--node-label-clear removes them all\)/);
    refused({ role: 'a==b' }, /node label role: the value must be up to 128/);
    refused({ role: 'x y' }, /the value must be/);
    refused({ role: 1 }, /the value must be/);
    refused(['role=x'], /must be an object of label: value/);
    refused('role=x', /must be an object/);
    refused(Object.fromEntries(Array.from({ length: MAX_NODE_LABELS + 1 }, (_, i) => [`k${i}`, 'v'])), /at most 10 labels/);
    assert.throws(() => validateSpread('yes'), /spread must be true or false/);
    assert.throws(() => parseUpdateApp({ node_labels: { 'NO': 'x' } }), HiyError);
  });

  test('the row as the runtime\'s placement, and in words', () => {
    assert.deepEqual(placementOf({ node_labels: '{"role":"fast"}', spread: 1 }), { nodeLabels: { role: 'fast' }, spread: true });
    assert.deepEqual(placementOf({ node_labels: null, spread: 0 }), { nodeLabels: {}, spread: false });
    assert.equal(describeLabels({ role: 'fast', disk: 'ssd' }), 'role=fast,disk=ssd');
    assert.equal(describeLabels({}), 'any node');
  });
});
