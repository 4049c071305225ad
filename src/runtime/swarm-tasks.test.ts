import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { currentTask, imagePullFailure, serviceInfo, type SwarmTask } from './swarm-tasks.js';

const service = {
  ID: 'svc1',
  Version: { Index: 3 },
  Spec: {
    Name: 'hiy-shop-web-1',
    Labels: { 'hiy.managed': '1', 'hiy.app': 'shop', 'hiy.slot': 'a', 'hiy.deploy': '4', 'hiy.process': 'web' },
    TaskTemplate: { ContainerSpec: { Image: `hiy/shop:abc@sha256:${'1'.repeat(64)}` } },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ PublishedPort: 20100, TargetPort: 5000, PublishMode: 'host' }] },
  },
} as unknown as Docker.Service;

const task = (id: string, index: number, state: string, desired = 'running', node = 'n1', exit?: number): SwarmTask => ({
  ID: id, ServiceID: 'svc1', NodeID: node, DesiredState: desired, CreatedAt: `2026-01-01T00:00:0${index}Z`, Version: { Index: index },
  Status: { State: state, Timestamp: `2026-01-01T00:00:0${index}Z`, ...(exit !== undefined ? { ContainerStatus: { ExitCode: exit } } : {}) },
});
const nodes = new Map([['n1', '10.0.0.2'], ['n2', '10.0.0.3']]);

describe('a service read as a container', () => {
  test('running: its task\'s node is where the port answers; the image without the digest the manager pinned', () => {
    const info = serviceInfo(service, [task('t1', 1, 'running')], nodes);
    assert.equal(info.running, true);
    assert.equal(info.state, 'running');
    assert.equal(info.host, '10.0.0.2');
    assert.equal(info.hostPort, 20100);
    assert.equal(info.image, 'hiy/shop:abc');
    assert.equal(info.restartCount, 0);
    assert.equal(info.slot, 'a');
    assert.equal(info.deployId, 4);
  });

  test('tasks that ended by themselves count as restarts; the replacement elsewhere is the current one', () => {
    const tasks = [task('t1', 1, 'failed', 'shutdown', 'n1', 1), task('t2', 2, 'running', 'running', 'n2')];
    const info = serviceInfo(service, tasks, nodes);
    assert.equal(currentTask(tasks)?.ID, 't2');
    assert.equal(info.restartCount, 1);
    assert.equal(info.host, '10.0.0.3');
  });

  test('a one-off that ended: exited with its exit code; one being placed: created', () => {
    assert.deepEqual(
      [serviceInfo(service, [task('t1', 1, 'complete', 'shutdown', 'n1', 0)], nodes)].map((i) => [i.state, i.running, i.exitCode]),
      [['exited', false, 0]],
    );
    assert.equal(serviceInfo(service, [task('t1', 1, 'pending')], nodes).state, 'created');
    assert.equal(serviceInfo(service, [task('t1', 1, 'failed', 'shutdown', 'n1', 2)], nodes).exitCode, 2);
  });
});

describe('a task a node refused for want of its image', () => {
  const nodes = [{ ID: 'n2', Description: { Hostname: 'pi4' } }];
  test('names the node and says what to check', () => {
    const t = { ...task('t1', 1, 'rejected', 'shutdown', 'n2'), Status: { State: 'rejected', Err: 'No such image: 10.0.0.1:5443/hiy/shop@sha256:abc' } };
    assert.match(imagePullFailure([t], nodes) ?? '', /^node pi4 could not get the app's image \(No such image: 10\.0\.0\.1:5443\/hiy\/shop@sha256:abc\): check that it reaches the nodes' registry/);
  });
  test('a task that failed for another reason is not one', () => {
    const t = { ...task('t1', 1, 'failed', 'shutdown', 'n2'), Status: { State: 'failed', Err: 'task: non-zero exit (1)' } };
    assert.equal(imagePullFailure([t], nodes), undefined);
    assert.equal(imagePullFailure([task('t2', 2, 'running')], nodes), undefined);
  });
});
