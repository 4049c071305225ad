import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeView } from '../contract.js';
import { labelsAfter, strandedApps } from './label-guard.js';

const node = (id: string, labels: Record<string, string>, state = 'ready', availability = 'active'): NodeView => ({
  id, name: `pi-${id}`, address: '', state, availability, role: 'worker', leader: false, cpus: 4, memory_bytes: 0, labels, apps: [], engine_version: '', usage: null,
});

describe('nodes:label guard', () => {
  const fast = { name: 'shop', labels: { role: 'fast' } };
  const any = { name: 'blog', labels: {} };

  test('labelsAfter sets, changes and removes', () => {
    assert.deepEqual(labelsAfter({ role: 'fast', disk: 'sd' }, { role: null, disk: 'ssd', zone: 'a' }), { disk: 'ssd', zone: 'a' });
  });

  test('removing or changing the last ready node\'s label strands the app that needs it', () => {
    const a = node('a', { role: 'fast' });
    const b = node('b', {});
    assert.deepEqual(strandedApps([a, b], a, { role: null }, [fast, any]), ['shop (role=fast)']);
    assert.deepEqual(strandedApps([a, b], a, { role: 'slow' }, [fast]), ['shop (role=fast)']);
  });

  test('another ready, active node with the label, an unrelated label or a node that did not carry it: nothing stranded', () => {
    const a = node('a', { role: 'fast', disk: 'sd' });
    assert.deepEqual(strandedApps([a, node('b', { role: 'fast' })], a, { role: null }, [fast]), []);
    assert.deepEqual(strandedApps([a], a, { disk: null }, [fast]), []);
    assert.deepEqual(strandedApps([a, node('b', {})], node('b', {}), { role: null }, [fast]), []);
  });

  test('a down or drained node with the label does not count as somewhere to go', () => {
    const a = node('a', { role: 'fast' });
    assert.deepEqual(strandedApps([a, node('b', { role: 'fast' }, 'down')], a, { role: null }, [fast]), ['shop (role=fast)']);
    assert.deepEqual(strandedApps([a, node('c', { role: 'fast' }, 'ready', 'drain')], a, { role: null }, [fast]), ['shop (role=fast)']);
  });
});
