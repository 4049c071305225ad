import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CgroupReader, parseCpuStat, workingSet } from './cgroup.js';
import { cpuPercent, diskUse, parseMeminfo, parseProcStat } from './host.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-cgroup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ID = 'a'.repeat(64);

function put(path: string, text: string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
}

describe('host figures', () => {
  it('CPU % from two /proc/stat readings, iowait counted as idle', () => {
    const a = parseProcStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\ncpu1 50 0 50 350 50 0 0 0 0 0\n')!;
    const b = parseProcStat('cpu  200 0 200 1300 300 0 0 0 0 0\n')!;
    assert.equal(a.cores, 2);
    assert.equal(cpuPercent(a, b), 20);
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('memory used = total - available', () => {
    assert.deepEqual(parseMeminfo('MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n'), { total: 1024000, used: 614400 });
  });

  it('disk use of a real path', async () => {
    const d = await diskUse(dir);
    assert.ok(d.total > 0 && d.used > 0 && d.used <= d.total);
  });
});

describe('CgroupReader', () => {
  it('reads cgroup v1 (cgroupfs driver) with cache subtracted', async () => {
    put(`v1/cpuacct/docker/${ID}/cpuacct.usage`, '2500000000\n');
    put(`v1/memory/docker/${ID}/memory.usage_in_bytes`, '10000\n');
    put(`v1/memory/docker/${ID}/memory.stat`, 'cache 5000\ntotal_inactive_file 3000\n');
    assert.deepEqual(await new CgroupReader(join(dir, 'v1')).read(ID), { cpuNs: 2_500_000_000, memoryBytes: 7000 });
  });

  it('reads cgroup v2 (systemd scope) from cpu.stat and memory.current', async () => {
    put(`v2/system.slice/docker-${ID}.scope/cpu.stat`, 'usage_usec 1500\nuser_usec 1000\n');
    put(`v2/system.slice/docker-${ID}.scope/memory.current`, '8192\n');
    put(`v2/system.slice/docker-${ID}.scope/memory.stat`, 'anon 4096\ninactive_file 1024\n');
    assert.deepEqual(await new CgroupReader(join(dir, 'v2')).read(ID), { cpuNs: 1_500_000, memoryBytes: 7168 });
  });

  it('answers undefined for an unknown or malformed container id', async () => {
    const r = new CgroupReader(join(dir, 'v1'));
    assert.equal(await r.read('b'.repeat(64)), undefined);
    assert.equal(await r.read('../../etc'), undefined);
  });

  it('parsers', () => {
    assert.equal(parseCpuStat('user_usec 5\n'), undefined);
    assert.equal(workingSet(100, 'inactive_file 500\n'), 100, 'never subtracts more than the usage');
  });
});
