import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HiyError } from '../errors.js';
import { containerCreateOptions, DEFAULT_PIDS_LIMIT } from './container-config.js';
import { roleOf } from './labels.js';
import type { ContainerSpec } from './runtime.js';

const spec: ContainerSpec = {
  name: 'hiy-shop-0a1b2c3d',
  image: 'hiy/shop:abc',
  app: 'shop',
  env: { PORT: '5000', DATABASE_URL: 'postgres://u:p@db/x', WITH_EQUALS: 'a=b' },
  containerPort: 5000,
  hostPort: 41001,
  memoryMb: 512,
  cpus: 0.5,
};

describe('containerCreateOptions', () => {
  test('hardening: no capabilities, no new privileges, pids, memory without swap, CPU, capped logs, init', () => {
    const o = containerCreateOptions(spec);
    const hc = o.HostConfig!;
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
    assert.equal(hc.Privileged, false);
    assert.equal(hc.PidsLimit, DEFAULT_PIDS_LIMIT);
    assert.equal(hc.Memory, 512 * 1024 * 1024);
    assert.equal(hc.MemorySwap, hc.Memory);
    assert.equal(hc.NanoCpus, 500_000_000);
    assert.deepEqual(hc.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
    assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    assert.equal(hc.NetworkMode, 'hiy-shop');
    assert.equal(hc.Init, true);
    assert.equal(hc.Binds, undefined);
    assert.equal(hc.Mounts, undefined);
  });

  test('the port is published on 127.0.0.1 with the fixed host port, never an empty one', () => {
    const o = containerCreateOptions(spec);
    assert.deepEqual(o.ExposedPorts, { '5000/tcp': {} });
    assert.deepEqual(o.HostConfig!.PortBindings, { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '41001' }] });
  });

  test('without a host port nothing is published', () => {
    const { hostPort: _drop, ...worker } = spec;
    const o = containerCreateOptions(worker);
    assert.equal(o.ExposedPorts, undefined);
    assert.equal(o.HostConfig!.PortBindings, undefined);
  });

  test('env becomes KEY=value (values may contain "="); bad names are refused', () => {
    assert.deepEqual(containerCreateOptions(spec).Env, ['PORT=5000', 'DATABASE_URL=postgres://u:p@db/x', 'WITH_EQUALS=a=b']);
    for (const bad of ['A=B', '', 'NUL\0']) {
      assert.throws(() => containerCreateOptions({ ...spec, env: { [bad]: 'x' } }), (e: unknown) => e instanceof HiyError && e.code === 'invalid_input');
    }
  });

  test("hiy's labels win over caller labels; extra labels are added; the role is kept in labels", () => {
    const o = containerCreateOptions({ ...spec, slot: 'a' }, { 'hiy.test': '1', 'hiy.managed': '0', 'hiy.app': 'other' });
    assert.deepEqual(o.Labels, { 'hiy.test': '1', 'hiy.managed': '1', 'hiy.app': 'shop', 'hiy.slot': 'a' });
    const web = containerCreateOptions({ ...spec, process: 'worker', replica: 2, deployId: 7, slot: 'b' });
    assert.deepEqual(web.Labels, { 'hiy.managed': '1', 'hiy.app': 'shop', 'hiy.process': 'worker', 'hiy.replica': '2', 'hiy.deploy': '7', 'hiy.slot': 'b' });
    assert.deepEqual(roleOf(web.Labels!), { app: 'shop', process: 'worker', replica: 2, deployId: 7, slot: 'b', run: null, instance: null, managedEnv: '' });
    assert.deepEqual(roleOf({ 'hiy.app': 'shop' }), { app: 'shop', process: 'web', replica: 0, deployId: null, slot: null, run: null, instance: null, managedEnv: '' }, 'what is not labelled takes the defaults');
    const attached = containerCreateOptions({ ...spec, managedEnv: 'DATABASE_URL=shop-db,REDIS_URL=cache' });
    assert.equal(attached.Labels!['hiy.managed-env'], 'DATABASE_URL=shop-db,REDIS_URL=cache', 'which add-ons the env holds: names only');
    assert.equal(roleOf(attached.Labels!).managedEnv, 'DATABASE_URL=shop-db,REDIS_URL=cache');
  });

  test('pids limit, command and CPU fractions pass through; silly limits are refused', () => {
    const o = containerCreateOptions({ ...spec, pidsLimit: 64, cmd: ['node', 'worker.js'], cpus: 1.25 });
    assert.equal(o.HostConfig!.PidsLimit, 64);
    assert.deepEqual(o.Cmd, ['node', 'worker.js']);
    assert.equal(o.HostConfig!.NanoCpus, 1_250_000_000);
    for (const bad of [{ memoryMb: 0 }, { cpus: 0 }, { hostPort: 70000 }, { hostPort: 1.5 }]) {
      assert.throws(() => containerCreateOptions({ ...spec, ...bad }), (e: unknown) => e instanceof HiyError && e.code === 'invalid_input', JSON.stringify(bad));
    }
  });
});
