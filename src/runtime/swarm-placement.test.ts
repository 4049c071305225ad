import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HiyError } from '../errors.js';
import { assertPlaceable, eligibleNodes, placementCheck, placementConstraints } from './swarm-placement.js';
import type { SwarmNode } from './swarm-tasks.js';

const node = (ID: string, labels: Record<string, string>, state = 'ready', availability = 'active'): SwarmNode => ({
  ID, Status: { State: state, Addr: '10.0.0.1' }, Spec: { Availability: availability, Labels: labels }, Description: { Hostname: `pi-${ID}` },
});

describe('an app\'s placement on the Swarm\'s nodes', () => {
  test('constraints in a stable order, one per label', () => {
    assert.deepEqual(placementConstraints({ role: 'fast', disk: 'ssd' }), ['node.labels.disk==ssd', 'node.labels.role==fast']);
    assert.deepEqual(placementConstraints({}), []);
  });

  test('eligible: ready, active, every label, and the volume\'s node when there is one', () => {
    const nodes = [node('a', { role: 'fast', disk: 'ssd' }), node('b', { role: 'fast' }), node('c', { role: 'fast', disk: 'ssd' }, 'down'), node('d', { role: 'fast', disk: 'ssd' }, 'ready', 'pause')];
    assert.deepEqual(eligibleNodes(nodes, { role: 'fast' }).map((n) => n.ID), ['a', 'b']);
    assert.deepEqual(eligibleNodes(nodes, { role: 'fast', disk: 'ssd' }).map((n) => n.ID), ['a']);
    assert.deepEqual(eligibleNodes(nodes, { role: 'fast' }, 'b').map((n) => n.ID), ['b']);
    assert.deepEqual(eligibleNodes(nodes, { role: 'slow' }), []);
    assert.deepEqual(eligibleNodes(nodes, {}).map((n) => n.ID), ['a', 'b'], 'no labels: every ready node');
  });

  test('the check answers the matching nodes by name, and every node with its labels', () => {
    const c = placementCheck([node('a', { role: 'fast' }), node('b', {}, 'down')], { role: 'fast' });
    assert.deepEqual(c.matching, ['pi-a']);
    assert.deepEqual(c.nodes, [{ name: 'pi-a', labels: { role: 'fast' }, ready: true }, { name: 'pi-b', labels: {}, ready: false }]);
  });

  test('no node to run it: a deploy error that names the labels, the nodes and the fix', () => {
    const nodes = [node('a', { role: 'slow' }), node('b', { role: 'fast' }, 'ready', 'pause')];
    assert.doesNotThrow(() => assertPlaceable(nodes, { role: 'slow' }, { app: 'shop', process: 'web' }));
    assert.throws(() => assertPlaceable(nodes, { role: 'fast' }, { app: 'shop', process: 'web' }), (err: HiyError) => {
      assert.equal(err.code, 'deploy_failed');
      assert.match(err.message, /no ready node carries role=fast, so shop's web process cannot start anywhere/);
      assert.match(err.message, /pi-a \(role=slow\); pi-b \(ready\/pause, role=fast\)/);
      assert.match(err.message, /hiy nodes:label <node> role=fast/);
      assert.match(err.message, /hiy update shop --node-label-clear/);
      return true;
    });
    assert.throws(() => assertPlaceable(nodes, { role: 'slow' }, { app: 'shop', process: 'web', onlyNode: 'b' }), /holds its volume/);
  });
});
