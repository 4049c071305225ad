// tests/system: the production path in booted Debian 12 guests with systemd as PID 1. The two
// suites run side by side, each on its own guest (own name, address range, overlay, cgroups),
// so the slow part of one (apt, npm, tsc in the guest) overlaps the other: production.ts carries
// one guest through install, services, push, firewall, fail2ban, backup, faults, reboot and
// rerun; upgrade.ts upgrades a second one from the previous commit. What they measured is
// printed at the end, with the total.
import { after, before, describe } from 'node:test';
import { ensureDebianRoot } from './debian-root.js';
import { sweepOrigins } from './host.js';
import { sweepOrphans } from './instance.js';
import { measured, printMeasurements, SYSTEM_SKIP } from './measure.js';
import { productionSuite } from './production.js';
import { upgradeSuite } from './upgrade.js';

describe(`tests/system: booted Debian 12 guests with systemd${SYSTEM_SKIP ? ` (skipped: ${SYSTEM_SKIP})` : ''}`, { skip: SYSTEM_SKIP, concurrency: 2, timeout: 30 * 60_000 }, () => {
  const started = Date.now();

  // Once, before both guests need it: about 4 minutes the first time on a machine. Guests a
  // killed run left behind (its teardown never ran) go first.
  before(async () => {
    const orphans = await sweepOrphans();
    sweepOrigins();
    if (orphans.length) console.log(`tests/system: removed guests a killed run left behind: ${orphans.join(', ')}`);
    await measured('debootstrap of the root (0 = cached)', () => ensureDebianRoot(), (r) => r.builtMs);
  });

  after(() => {
    measured.set('tests/system total', Date.now() - started);
    printMeasurements('tests/system');
  });

  productionSuite();
  upgradeSuite();
});
