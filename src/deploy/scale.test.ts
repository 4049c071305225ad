import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allSlotPorts, replicaPort, slotPorts } from '../slots.js';
import { parseFormation } from '../cli/cmd/processes.js';
import { validateScale } from './scale.js';

describe('scaling rules and replica ports', { timeout: 10_000 }, () => {
  test('web 1-4, other types 0-10, release never; unknown types are named with what exists', () => {
    assert.deepEqual(validateScale({ web: 2, worker: 0 }, ['worker']), { web: 2, worker: 0 });
    assert.throws(() => validateScale({ web: 0 }, []), /web must be a whole number from 1 to 4/);
    assert.throws(() => validateScale({ web: 5 }, []), /from 1 to 4/);
    assert.throws(() => validateScale({ worker: 11 }, ['worker']), /worker must be a whole number from 0 to 10/);
    assert.throws(() => validateScale({ web: 1.5 }, []), /whole number/);
    assert.throws(() => validateScale({ release: 1 }, ['worker']), /runs once per deploy/);
    assert.throws(() => validateScale({ clock: 1 }, ['worker']), /no process type "clock" \(its Procfile has: worker\)/);
    assert.throws(() => validateScale({ 'Bad Name': 1 }, undefined), /invalid process type/);
    assert.throws(() => validateScale({}, undefined), /nothing to scale/);
    // Before the first release any type may be set up in advance.
    assert.deepEqual(validateScale({ clock: 1 }, undefined), { clock: 1 });
  });

  test('each replica index owns a fixed (a, b) pair; replica 0 keeps the app\'s first two ports', () => {
    const app = { slot_index: 2 };
    assert.deepEqual(slotPorts(app, 20000), [20016, 20017]);
    assert.equal(replicaPort(app, 20000, 1, 'a'), 20018);
    assert.equal(replicaPort(app, 20000, 3, 'b'), 20023);
    assert.deepEqual(allSlotPorts(app, 20000), [20016, 20017, 20018, 20019, 20020, 20021, 20022, 20023]);
    assert.deepEqual(allSlotPorts({ slot_index: 3 }, 20000)[0], 20024, 'apps do not overlap');
    assert.throws(() => replicaPort(app, 20000, 4, 'a'), /out of range/);
  });

  test('the CLI reads type=count pairs', () => {
    assert.deepEqual(parseFormation(['web=2', 'worker=0']), { web: 2, worker: 0 });
    assert.throws(() => parseFormation(['web']), /not <type>=<count>/);
    assert.throws(() => parseFormation([]), /at least one/);
  });
});
