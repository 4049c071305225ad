import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerInfo } from '../runtime/runtime.js';
import { apiState, appStatus } from './status.js';

const ct = (over: Partial<ContainerInfo>): ContainerInfo => ({
  id: 'c', name: 'c', image: 'i', state: 'running', running: true, app: 'a', process: 'web', replica: 0, deployId: 1, slot: 'a', run: null, attached: false, instance: null, restartCount: 0, exitCode: null, startedAt: null, hostPort: null, ...over,
});

describe('the API\'s app states', () => {
  it('maps what the dashboard shows to Heroku-like states', () => {
    const state = (i: Parameters<typeof appStatus>[0]) => apiState(appStatus(i));
    assert.equal(state({ hasRelease: false, lastDeploy: undefined, containers: [] }), 'no_release');
    assert.equal(state({ hasRelease: false, lastDeploy: { status: 'failed' }, containers: [] }), 'no_release');
    assert.equal(state({ hasRelease: false, lastDeploy: { status: 'queued' }, containers: [] }), 'deploying');
    assert.equal(state({ hasRelease: true, lastDeploy: { status: 'building' }, containers: [ct({})] }), 'deploying');
    assert.equal(state({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({})] }), 'running');
    assert.equal(state({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({ state: 'restarting', running: false })] }), 'crashed');
    assert.equal(state({ hasRelease: true, lastDeploy: { status: 'failed' }, containers: [] }), 'crashed');
    assert.equal(state({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [] }), 'stopped');
    assert.equal(state({ hasRelease: true, lastDeploy: { status: 'success' }, containers: undefined }), 'unknown');
  });

  it('a web stopped by ps:stop is stopped whatever Docker says; a stopped worker alone is not', () => {
    const v = appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: undefined, stopped: new Set(['web']) });
    assert.deepEqual([apiState(v), v.note], ['stopped', 'stopped by ps:stop']);
    assert.equal(apiState(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({})], stopped: new Set(['worker']) })), 'running');
  });
});
