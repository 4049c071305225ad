import { randomBytes } from 'node:crypto';
/** The app the dashboard test deploys, and `hiy password` driven as a user would. */
import { spawn } from 'node:child_process';
import type { HiyProcess } from '../../harness/server.js';
import { hiyEntry } from '../../harness/paths.js';

// The app prints its version and env at start (so the dashboard's log view shows what it runs
// with), a line of HTML that must stay text, and colour plus an OSC 8 link that must not survive.
export const START = [
  'echo "VERSION=$(cat /www/index.html)"',
  'echo "GREETING=${GREETING:-unset}"',
  `echo '<script>alert("xss")</script>'`,
  `printf '\\033[31mred alert\\033[0m \\033]8;;http://evil.example/\\033\\\\link text\\033]8;;\\033\\\\\\n'`,
  // A heartbeat, so the live tail has something new to show.
  '(i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done) &',
  'exec busybox httpd -f -v -p "$PORT" -h /www',
  '',
].join('\n');
export const DOCKERFILE = 'FROM hiy-test/busybox:1\nCOPY start.sh /start.sh\nCOPY www /www\nCMD ["sh", "/start.sh"]\n';
// A build that takes a few seconds and talks while it runs, for the live log. The output lines
// ("slow-output-1") differ from the command line Docker echoes ("slow-output-$n").
// The run id keeps the step out of the engine's build cache: an earlier run on the same engine
// would otherwise make it a silent "Using cache".
export const SLOW_DOCKERFILE = 'FROM hiy-test/busybox:1\nCOPY start.sh /start.sh\nCOPY www /www\n'
  + `RUN : run-${randomBytes(4).toString('hex')}; n=1; echo "slow-output-$n"; sleep 4; n=2; echo "slow-output-$n"; sleep 3; n=3; echo "slow-output-$n"\nCMD ["sh", "/start.sh"]\n`;

/** `hiy password` with the password piped on stdin. */
export function setPassword(hiy: HiyProcess, password: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [hiyEntry(), 'password'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => resolve({ code, out }));
    p.stdin.end(`${password}\n`);
  });
}
