import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { leastLoadedNode } from './swarm-spread.js';
import type { SwarmNode, SwarmTask } from './swarm-tasks.js';

const node = (ID: string, state = 'ready', availability = 'active'): SwarmNode => ({ ID, Status: { State: state, Addr: `10.0.0.${ID.length}` }, Spec: { Availability: availability } });
const task = (node: string, app: string, desired = 'running'): SwarmTask & { app: string } => ({ ID: `${node}-${app}`, ServiceID: 's', NodeID: node, DesiredState: desired, CreatedAt: '', Status: { State: 'running' }, app });

describe('where a new process of an app starts', () => {
  test('on the ready node with the fewest of the app\'s tasks, then the fewest of all', () => {
    const nodes = [node('a'), node('b'), node('c')];
    assert.equal(leastLoadedNode(nodes, [task('a', 'shop'), task('b', 'blog'), task('b', 'blog')], 'shop'), 'c');
    assert.equal(leastLoadedNode(nodes, [task('a', 'shop'), task('b', 'blog'), task('c', 'shop'), task('c', 'shop')], 'shop'), 'b');
  });

  test('never on a node that is down, drained or paused; tasks on their way out do not count', () => {
    const nodes = [node('a'), node('b', 'down'), node('c', 'ready', 'drain'), node('d', 'ready', 'pause')];
    assert.equal(leastLoadedNode(nodes, [task('a', 'shop'), task('a', 'shop')], 'shop'), 'a');
    assert.equal(leastLoadedNode([node('a'), node('e')], [task('e', 'shop', 'shutdown'), task('a', 'shop')], 'shop'), 'e');
    assert.equal(leastLoadedNode([node('b', 'down')], [], 'shop'), undefined);
  });
});
