// Redeploys an app 10 times and rolls it back once under a keep-alive load (20 connections) and
// a fresh-connection load (2 loops), through Caddy over HTTPS. Target: 0 failed requests.
// Run: npm run build && node dist/bench/zero-downtime.js [deploys] [keep-alive connections]
import { loadavg } from 'node:os';
import { percentile } from '../harness/load.js';
import { redeployUnderLoad } from '../harness/redeploy-under-load.js';

const deploys = Number(process.argv[2] ?? '10');
const connections = Number(process.argv[3] ?? '20');
const r = await redeployUnderLoad({ deploys, rollbacks: 1, keepAliveConnections: connections, freshConnectionLoops: 2, log: (l) => process.stderr.write(`${l}\n`) });
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
for (const [k, v] of rows) console.log(`${k.padEnd(24)} ${v}`);
if (r.errorSamples.length) console.log(`samples: ${r.errorSamples.join(' | ')}`);
process.exitCode = r.errors + r.non2xx === 0 ? 0 : 1;
