#!/usr/bin/env node
// Prints the Docker daemon configuration hiy wants, merged into the existing one (never replacing
// what the operator set): json-file logs capped at 10 MB x 3, BuildKit cache garbage collection,
// live-restore (containers keep running while dockerd restarts, e.g. for an unattended upgrade),
// address pools with room for one network per app, and on systemd + cgroup v2 the cgroupfs driver.
// Usage: node infra/docker-daemon.mjs /etc/docker/daemon.json [--live-restore=false] [--cgroupfs]
// (--live-restore=false: install.sh --nodes; Docker Swarm refuses an engine with live-restore on.
// --cgroupfs: a box with systemd on cgroup v2, where Docker picks the systemd driver, under which
// hiy cannot bound BuildKit's build steps and so has no dependency caches; see
// docs/build-strategies.md, "Where BuildKit is used". A driver the operator chose stays.)
// Prints the current text unchanged when it already holds everything; exit 3 when it is not JSON.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: docker-daemon.mjs <daemon.json>\n');
  process.exit(2);
}
let text = '';
try {
  text = readFileSync(file, 'utf8');
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
let current = {};
if (text.trim() !== '') {
  try {
    current = JSON.parse(text);
  } catch (err) {
    process.stderr.write(`${file} is not valid JSON (${err.message}); left as it is\n`);
    process.exit(3);
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    process.stderr.write(`${file} does not hold a JSON object; left as it is\n`);
    process.exit(3);
  }
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const merged = { ...current };
if (!('log-driver' in merged)) merged['log-driver'] = 'json-file';
// Options of another log driver (journald, syslog, ...) are the operator's business.
if (merged['log-driver'] === 'json-file' || merged['log-driver'] === 'local') {
  merged['log-opts'] = { 'max-size': '10m', 'max-file': '3', ...(isObject(merged['log-opts']) ? merged['log-opts'] : {}) };
}
if (process.argv.includes('--live-restore=false')) merged['live-restore'] = false;
else if (!('live-restore' in merged)) merged['live-restore'] = true;
// Every app gets its own bridge network; Docker's default pools hold about 31 of them. /24
// networks from 172.16.0.0/12 give 4096 (an app network needs a handful of addresses).
if (!('default-address-pools' in merged)) merged['default-address-pools'] = [{ base: '172.16.0.0/12', size: 24 }];
if (process.argv.includes('--cgroupfs')) {
  const opts = Array.isArray(merged['exec-opts']) ? merged['exec-opts'] : [];
  if (!opts.some((o) => typeof o === 'string' && /^native\.cgroupdriver\s*=/.test(o))) merged['exec-opts'] = [...opts, 'native.cgroupdriver=cgroupfs'];
}
const builder = isObject(merged.builder) ? merged.builder : {};
merged.builder = { ...builder, gc: { enabled: true, defaultKeepStorage: '5GB', ...(isObject(builder.gc) ? builder.gc : {}) } };

const canonical = (v) => (Array.isArray(v) ? v.map(canonical) : isObject(v)
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])])) : v);
if (text.trim() !== '' && JSON.stringify(canonical(merged)) === JSON.stringify(canonical(current))) {
  process.stdout.write(text);
} else {
  process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
}
