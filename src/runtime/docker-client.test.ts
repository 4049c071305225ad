import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HiyError } from '../errors.js';
import { dockerOptions, engineError, engineMessage, statusOf } from './docker-client.js';

describe('docker-client', () => {
  test('engine addresses as DOCKER_HOST spells them', () => {
    assert.deepEqual(dockerOptions(), { socketPath: '/var/run/docker.sock' });
    assert.deepEqual(dockerOptions('unix:///run/user/1000/docker.sock'), { socketPath: '/run/user/1000/docker.sock' });
    assert.deepEqual(dockerOptions('/tmp/d.sock'), { socketPath: '/tmp/d.sock' });
    assert.deepEqual(dockerOptions('tcp://127.0.0.1:2375'), { protocol: 'http', host: '127.0.0.1', port: 2375 });
    assert.deepEqual(dockerOptions('http://[::1]:2375/'), { protocol: 'http', host: '::1', port: 2375 });
    for (const bad of ['https://h:2376', 'ssh://pi@h', 'tcp://nohost', 'docker.sock']) {
      assert.throws(() => dockerOptions(bad), (e: unknown) => e instanceof HiyError && e.code === 'config', bad);
    }
  });

  test("the engine's own message is kept, docker-modem's prefix dropped", () => {
    const err = Object.assign(new Error('(HTTP code 409) unexpected - Conflict. The container name "/x" is already in use '), { statusCode: 409, json: { message: 'Conflict. The container name "/x" is already in use' } });
    assert.equal(statusOf(err), 409);
    assert.equal(engineMessage(err), 'Conflict. The container name "/x" is already in use');
    assert.equal(engineMessage(new Error('(HTTP code 500) server error - boom ')), 'boom');
  });

  test('an engine that does not answer is "unavailable" with a hint', () => {
    const e = engineError(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }), 'listing containers');
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /listing containers: the Docker engine does not answer \(ENOENT\)/);
    assert.equal(statusOf(new Error('x')), undefined);
  });
});
