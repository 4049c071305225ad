import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentLine } from './node-stats-line.js';

const ID = 'ac6eb55a9f76c5e04d0a4362f8c86defd2248584d98b38f9add3db4f3fd108c6';
// A line the agent printed (node-stats-agent.ts in a container on this machine).
const LINE = `{"hiy":"node-stats","v":1,"node":"x8k2ab","up":49264.55,"cpu":[9792967,2765988,2],"mem":[25276157952,1118945280],"own":true,"c":[["${ID}",57529849,4493312]]}`;

test('an agent line reads as the node\'s counters and its containers\' figures', () => {
  assert.deepEqual(parseAgentLine(LINE), {
    node: 'x8k2ab', uptime: 49264.55, cpu: { total: 9792967, idle: 2765988, cores: 2 }, memory: { total: 25276157952, used: 1118945280 }, own: true,
    containers: [{ id: ID, cpuNs: 57529849, memoryBytes: 4493312 }],
  });
});

test('anything else on the agent\'s output is no reading', () => {
  for (const bad of ['', 'sh: can\'t open /host/cgroup', '{"hiy":"node-stats"', LINE.replace('"v":1', '"v":2'), LINE.replace('"up":49264.55', '"up":-1'),
    LINE.replace('[9792967,2765988,2]', '[9792967,2]'), LINE.replace('"node":"x8k2ab"', '"node":"../x"'), `{"x":1}`]) {
    assert.equal(parseAgentLine(bad), undefined, bad);
  }
});

test('a container entry that is not an id and two numbers is skipped, the rest kept', () => {
  const r = parseAgentLine(LINE.replace(`"c":[`, `"c":[["nothex",1,2],["${ID}","1",2],`));
  assert.equal(r?.containers.length, 1);
});
