// Redeploys an app 10 times and rolls it back once under a keep-alive load (20 connections) and
// a fresh-connection load (2 loops), through Caddy over HTTPS. Target: 0 failed requests.
// Before the first push the same load runs for [baseline seconds] (default 10) with no deploy: its
// p99 and longest request are the floor the deploy window's figures are printed against.
// The app is a node server (BENCH_APP=busybox: busybox httpd, whose listen backlog of 9 overflows
// under this load, so its own queue makes 1 s waits: SYN retransmits, no deploy needed).
// Run: npm run build && node dist/bench/zero-downtime.js [deploys] [keep-alive connections] [baseline seconds]
import { loadavg } from 'node:os';
import { percentile } from '../harness/load.js';
import { redeployUnderLoad } from '../harness/redeploy-under-load.js';

const deploys = Number(process.argv[2] ?? '10');
const connections = Number(process.argv[3] ?? '20');
const baselineS = Number(process.argv[4] ?? '10');
const r = await redeployUnderLoad({ deploys, rollbacks: 1, keepAliveConnections: connections, freshConnectionLoops: 2, baselineS, app: process.env.BENCH_APP === 'busybox' ? 'busybox' : 'node', log: (l) => process.stderr.write(`${l}\n`) });
const rows: [string, string][] = [
  ['deploys + rollbacks', String(r.deploys)],
  ['seconds under load', r.seconds.toFixed(1)],
  ['requests sent', String(r.sent)],
  ['requests per second', (r.sent / r.seconds).toFixed(0)],
  ['2xx', String(r.ok)],
  ['non-2xx', String(r.non2xx)],
  ['connection errors', String(r.errors)],
  ['p50 / p99 request (ms)', `${percentile(r.durations, 50)} / ${percentile(r.durations, 99)}`],
  ['longest request (ms)', String(r.longestMs)],
  ...windows(),
  // Where the longest one started: inside which push (git push until its answer), or between.
  ['longest started', (() => {
    const at = r.longestStartedAt;
    const d = r.deployTimes.find((x) => at >= x.start && at <= x.end);
    if (d) return `${((at - d.start) / 1000).toFixed(2)} s into ${d.label} (which took ${((d.end - d.start) / 1000).toFixed(2)} s)`;
    const before = [...r.deployTimes].reverse().find((x) => x.end < at);
    return before ? `${((at - before.end) / 1000).toFixed(2)} s after ${before.label} answered (drain, prune)` : 'before the first push';
  })()],
  ['load average (1 min)', loadavg()[0]!.toFixed(1)],
  ['distinct bodies seen', String(r.bodies.size)],
];
/** p99 and longest of the requests started before the first push (no deploy) and from it on. */
function windows(): [string, string][] {
  const firstPush = r.deployTimes[0]?.start ?? Infinity;
  const quiet: number[] = [];
  const deploying: number[] = [];
  r.durations.forEach((ms, i) => (r.starts[i]! < firstPush ? quiet : deploying).push(ms));
  const p99 = (d: number[]) => percentile(d, 99);
  const longest = (d: number[]) => d.reduce((a, b) => Math.max(a, b), 0);
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '-');
  return [
    [`no deploy: p99 / longest`, `${p99(quiet)} / ${longest(quiet)} ms (${quiet.length} requests in ${baselineS} s)`],
    [`deploys: p99 / longest`, `${p99(deploying)} / ${longest(deploying)} ms (${ratio(p99(deploying), p99(quiet))} / ${ratio(longest(deploying), longest(quiet))} the no-deploy window)`],
  ];
}
for (const [k, v] of rows) console.log(`${k.padEnd(24)} ${v}`);
if (r.errorSamples.length) console.log(`samples: ${r.errorSamples.join(' | ')}`);
process.exitCode = r.errors + r.non2xx === 0 ? 0 : 1;
