import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Docker } from './docker-client.js';
import { createLogger } from '../log.js';
import { swarmServices, type RegistryAuth } from './swarm-services.js';

const LOGIN: RegistryAuth = { username: 'hiy', password: 'p4ss', serveraddress: '10.0.0.1:5443' };
const auth = async (image: string) => (image.startsWith('10.0.0.1:5443/') ? LOGIN : undefined);

/** An engine that holds one service and records what every update and create sent. */
function fakeEngine(image: string) {
  const calls: { kind: string; auth: unknown; body: Record<string, unknown> }[] = [];
  const service = { ID: 's1', Version: { Index: 7 }, Spec: { Name: 'hiy-a-web-1', TaskTemplate: { ContainerSpec: { Image: image } }, Mode: { Replicated: { Replicas: 0 } } } };
  const docker = {
    getService: () => ({
      inspect: async () => structuredClone(service),
      update: async (a: unknown, body: Record<string, unknown>) => { calls.push({ kind: 'update', auth: a, body }); },
    }),
    listTasks: async () => [],
    listNodes: async () => [],
    createService: async (a: unknown, body: Record<string, unknown>) => { calls.push({ kind: 'create', auth: a, body }); throw Object.assign(new Error('stop here'), { statusCode: 500 }); },
  } as unknown as Docker;
  return { docker, calls };
}

describe('swarm services send the registry login (X-Registry-Auth) with creates and updates', () => {
  test('an update of a service whose image is in the nodes\' registry carries the login, apart from the spec', async () => {
    const { docker, calls } = fakeEngine('10.0.0.1:5443/hiy/a@sha256:' + '1'.repeat(64));
    await swarmServices(docker, createLogger('silent'), auth).start('s1');
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.auth, LOGIN);
    assert.equal(calls[0]!.body.version, 7);
    assert.ok(!JSON.stringify(calls[0]!.body).includes('p4ss'), 'the password is not in the spec');
  });

  test('an image of another registry gets no login (it never leaves for another registry)', async () => {
    const { docker, calls } = fakeEngine('docker.io/library/busybox@sha256:' + '1'.repeat(64));
    await swarmServices(docker, createLogger('silent'), auth).start('s1');
    assert.equal(calls[0]!.auth, undefined);
  });

  test('a create passes the login as its own argument, never inside the spec', async () => {
    const { docker, calls } = fakeEngine('x');
    const spec = { Name: 'hiy-a-web-2', TaskTemplate: { ContainerSpec: { Image: '10.0.0.1:5443/hiy/a@sha256:' + '2'.repeat(64) } } } as Docker.CreateServiceOptions;
    await assert.rejects(swarmServices(docker, createLogger('silent'), auth).create(spec), /stop here/);
    assert.deepEqual(calls[0]!.auth, LOGIN);
    assert.ok(!JSON.stringify(calls[0]!.body).includes('p4ss'));
  });
});
