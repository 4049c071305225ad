import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { HiyError } from '../errors.js';
import { DEFAULT_PIDS_LIMIT } from './container-config.js';
import { roleOf } from './labels.js';
import { apiAtLeast, serviceSpec } from './swarm-spec.js';
import type { ContainerSpec } from './runtime.js';

const spec: ContainerSpec = {
  name: 'hiy-shop-web-0a1b2c3d',
  image: 'hiy/shop:abc',
  app: 'shop',
  env: { PORT: '5000', WITH_EQUALS: 'a=b' },
  containerPort: 5000,
  hostPort: 41001,
  memoryMb: 512,
  cpus: 0.5,
  process: 'web',
  slot: 'b',
  replica: 1,
  deployId: 7,
};
const o = { image: 'registry.local:5000/hiy/shop:abc', apiVersion: '1.41', selfNodeId: 'node1', labels: { 'hiy.instance': 'abc' } };
const containerOf = (s: Docker.CreateServiceOptions) => (s.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec!;

describe('serviceSpec', () => {
  test('hardening as containers have it: no capabilities, pids, memory, CPU, init, capped logs, the app\'s network', () => {
    const s = serviceSpec(spec, o);
    const c = containerOf(s);
    const t = s.TaskTemplate as Docker.ContainerTaskSpec;
    assert.deepEqual(c.CapabilityDrop, ['ALL']);
    assert.equal(c.CapabilityAdd, undefined);
    assert.equal(c.Init, true);
    assert.equal(c.Mounts, undefined);
    assert.deepEqual(t.Resources?.Limits, { MemoryBytes: 512 * 1024 * 1024, NanoCPUs: 500_000_000, Pids: DEFAULT_PIDS_LIMIT });
    assert.deepEqual(t.LogDriver, { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } });
    assert.deepEqual(t.Networks, [{ Target: 'hiy-shop' }]);
    assert.deepEqual(t.RestartPolicy, { Condition: 'any', Delay: 1e9 });
    assert.equal(t.Placement, undefined);
    assert.equal(c.Image, o.image);
    assert.deepEqual(c.Env, ['PORT=5000', 'WITH_EQUALS=a=b']);
  });

  test('one task, dnsrr (no VIP, no routing mesh), the slot port published in host mode', () => {
    const s = serviceSpec(spec, o);
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(s.EndpointSpec, { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 5000, PublishedPort: 41001, PublishMode: 'host' }] });
    assert.deepEqual(serviceSpec({ ...spec, hostPort: undefined }, o).EndpointSpec, { Mode: 'dnsrr' });
  });

  test('labels carry the role (read back like a container\'s) on the service and its containers', () => {
    const s = serviceSpec(spec, o);
    const role = roleOf(s.Labels!);
    assert.equal(role.app, 'shop');
    assert.equal(role.slot, 'b');
    assert.equal(role.replica, 1);
    assert.equal(role.deployId, 7);
    assert.equal(role.instance, 'abc');
    assert.deepEqual(containerOf(s).Labels, s.Labels);
  });

  test('a one-off runs once; cmd is the image command (Args), user and capabilities given back as asked', () => {
    const s = serviceSpec({ ...spec, oneOff: true, cmd: ['chown', '1000', '/data'], user: '0:0', capAdd: ['CHOWN'] }, o);
    const c = containerOf(s);
    assert.deepEqual((s.TaskTemplate as Docker.ContainerTaskSpec).RestartPolicy, { Condition: 'none' });
    assert.deepEqual(c.Args, ['chown', '1000', '/data']);
    assert.equal(c.Command, undefined);
    assert.equal(c.User, '0:0');
    assert.deepEqual(c.CapabilityAdd, ['CHOWN']);
  });

  test('a process with a volume stays on the node that holds the volume', () => {
    const s = serviceSpec({ ...spec, volumes: [{ name: 'hiy-shop-data', path: '/data' }] }, o);
    const t = s.TaskTemplate as Docker.ContainerTaskSpec;
    assert.deepEqual(t.Placement, { Constraints: ['node.id==node1'] });
    assert.deepEqual(t.ContainerSpec?.Mounts, [{ Type: 'volume', Source: 'hiy-shop-data', Target: '/data' }]);
  });

  test('an app\'s node labels become constraints every one of its services keeps, next to a volume\'s node', () => {
    const placement = { nodeLabels: { role: 'fast', disk: 'ssd' }, spread: true };
    const t = serviceSpec({ ...spec, placement }, o).TaskTemplate as Docker.ContainerTaskSpec;
    assert.deepEqual(t.Placement, { Constraints: ['node.labels.disk==ssd', 'node.labels.role==fast'] });
    const v = serviceSpec({ ...spec, placement, volumes: [{ name: 'hiy-shop-data', path: '/data' }] }, o).TaskTemplate as Docker.ContainerTaskSpec;
    assert.deepEqual(v.Placement, { Constraints: ['node.id==node1', 'node.labels.disk==ssd', 'node.labels.role==fast'] });
    const any = serviceSpec({ ...spec, placement: { nodeLabels: {}, spread: false } }, o).TaskTemplate as Docker.ContainerTaskSpec;
    assert.equal(any.Placement, undefined, 'no labels: no constraint');
  });

  test('NoNewPrivileges goes in where the engine\'s API carries it (1.46 on), never claimed below', () => {
    assert.equal(containerOf(serviceSpec(spec, o)).Privileges, undefined);
    assert.deepEqual(containerOf(serviceSpec(spec, { ...o, apiVersion: '1.47' })).Privileges, { NoNewPrivileges: true });
    assert.equal(apiAtLeast('1.45', [1, 46]), false);
    assert.equal(apiAtLeast('2.0', [1, 46]), true);
  });

  test('bad limits and ports are refused', () => {
    assert.throws(() => serviceSpec({ ...spec, memoryMb: 2 }, o), HiyError);
    assert.throws(() => serviceSpec({ ...spec, hostPort: 70000 }, o), HiyError);
    assert.throws(() => serviceSpec({ ...spec, env: { 'A=B': 'x' } }, o), HiyError);
  });
});
