import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeReading } from '../runtime/runtime.js';
import { ClusterUsage } from './cluster-usage.js';

/** `busy` and `idle` jiffies since boot. */
const reading = (nodeId: string, uptime: number, busy: number, tasks: NodeReading['tasks'], idle = 1000): NodeReading => ({
  nodeId, uptime, cpu: { total: busy + idle, idle, cores: 4 }, memory: { total: 4e9, used: 1e9 }, tasks,
});

test('node CPU and each task\'s CPU come from the difference between two readings of the node', () => {
  let now = 0;
  const u = new ClusterUsage(30_000, () => now);
  u.add(reading('n1', 100, 0, [{ id: 'a', app: 'shop', cpuNs: 0, memoryBytes: 10 }]));
  assert.equal(u.nodes().get('n1')?.cpuPct, 0, 'one reading: nothing to compare with');
  now = 10_000;
  // 10 s later: the node was 50 % busy (500 busy of 1000 jiffies), the task used 5 s of CPU (half a core).
  u.add(reading('n1', 110, 500, [{ id: 'a', app: 'shop', cpuNs: 5e9, memoryBytes: 20 }], 1500));
  u.add(reading('n2', 50, 0, [{ id: 'b', app: 'shop', cpuNs: 1e9, memoryBytes: 30 }]));
  const n1 = u.nodes().get('n1')!;
  assert.equal(n1.cpuPct, 50);
  assert.equal(n1.memoryPct, 25);
  assert.equal(n1.cpuCount, 4);
  const shop = u.apps(1).get('shop')!;
  assert.equal(shop.cpuPct, 50);
  assert.equal(shop.memoryBytes, 50, 'memory summed over the tasks on both nodes');
  assert.equal(shop.containers, 2);
});

test('a node not heard from lately counts no more; a rebooted node compares nothing with before', () => {
  let now = 0;
  const u = new ClusterUsage(30_000, () => now);
  u.add(reading('n1', 100, 0, [{ id: 'a', app: 'shop', cpuNs: 9e9, memoryBytes: 10 }]));
  now = 10_000;
  u.add(reading('n1', 5, 900, [{ id: 'a', app: 'shop', cpuNs: 1e9, memoryBytes: 10 }]));
  assert.equal(u.nodes().get('n1')?.cpuPct, 0);
  assert.equal(u.apps(1).get('shop')?.cpuPct, 0);
  now = 50_000;
  assert.equal(u.nodes().size, 0);
  assert.equal(u.apps(1).size, 0);
});
