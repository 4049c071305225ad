/** Starts and stops a child `caddy run` when no Caddy answers on the admin address. */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, lstat, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CaddyAdminAddress } from '../config.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { adminLabel, bootConfig } from './caddy-config.js';

export interface CaddyChildOptions {
  caddyBin: string;
  /** hiy's data dir; Caddy's storage (certificates, the local CA) goes to <dataDir>/caddy. */
  dataDir: string;
  adminAddress: CaddyAdminAddress;
  /** PATH of the child (the only variable inherited from hiy's environment). */
  pathEnv: string;
  log: Logger;
  /** Resolves true once the admin API answers. */
  isReady(): Promise<boolean>;
  readyTimeoutMs?: number;
}

export interface CaddyChild {
  readonly pid: number;
  /** True once the process has exited (for whatever reason). */
  exited(): boolean;
  /** The last lines Caddy wrote (at most `lines`), for error messages. */
  outputTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_LINES = 40;

/** Where Caddy keeps its state: XDG_DATA_HOME/caddy and XDG_CONFIG_HOME/caddy both point here. */
export function caddyStateDir(dataDir: string): string {
  return join(dataDir, 'caddy');
}

/**
 * The folder of the admin socket: made 0700 and owned by hiy's user (the child runs as that user),
 * so no other local user can reach Caddy's admin API. A folder owned by someone else is refused.
 */
export async function prepareAdminSocketDir(socket: string): Promise<void> {
  const dir = dirname(socket);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.()) {
    throw new HiyError('config', `HIY_CADDY_ADMIN: ${dir} must be a folder owned by hiy's user (it holds Caddy's admin socket)`);
  }
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

export async function startCaddyChild(opts: CaddyChildOptions): Promise<CaddyChild> {
  const stateDir = caddyStateDir(opts.dataDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  if ('socket' in opts.adminAddress) await prepareAdminSocketDir(opts.adminAddress.socket);
  const bootFile = join(stateDir, 'hiy-boot.json');
  await writeFile(bootFile, JSON.stringify(bootConfig(opts.adminAddress), null, 2) + '\n', { mode: 0o600 });

  const child = spawn(opts.caddyBin, ['run', '--config', bootFile], {
    cwd: stateDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: opts.pathEnv,
      HOME: stateDir,
      XDG_DATA_HOME: opts.dataDir,
      XDG_CONFIG_HOME: opts.dataDir,
    },
  });
  const tail: string[] = [];
  let exitInfo: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    // 'close', not 'exit': by then stdout/stderr are read to the end, so the tail is complete.
    child.once('close', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  forwardOutput(child, tail, opts.log);

  const handle: CaddyChild = {
    pid: child.pid ?? -1,
    exited: () => exitInfo !== undefined,
    outputTail: (lines = TAIL_LINES) => tail.slice(-lines).join('\n'),
    async stop(graceMs = 5_000) {
      if (exitInfo !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (;;) {
    const failed = await Promise.race([spawnError, exitedPromise.then(() => undefined), sleep(100).then(() => null)]);
    if (failed instanceof Error) {
      throw new HiyError('unavailable', `could not start Caddy (${opts.caddyBin}): ${failed.message}`, { cause: failed });
    }
    if (exitInfo !== undefined) {
      throw new HiyError('unavailable', `Caddy (${opts.caddyBin}) exited during start (${exitInfo}); its last output:\n${handle.outputTail()}`);
    }
    if (await opts.isReady()) break;
    if (Date.now() > deadline) {
      await handle.stop(1_000);
      throw new HiyError('unavailable', `Caddy's admin API did not answer on ${adminLabel(opts.adminAddress)} within ${opts.readyTimeoutMs ?? 10_000} ms; its last output:\n${handle.outputTail()}`);
    }
  }
  opts.log.info({ pid: handle.pid, admin: adminLabel(opts.adminAddress), storage: stateDir }, 'started a child Caddy');
  return handle;
}

/** Caddy logs JSON lines on stderr: keep a tail for errors, pass warnings on to hiy's log. */
function forwardOutput(child: ChildProcess, tail: string[], log: Logger): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        const level = caddyLevel(line);
        if (level === 'error' || level === 'fatal' || level === 'panic') log.error({ caddy: line }, 'caddy');
        else if (level === 'warn') log.warn({ caddy: line }, 'caddy');
        else log.debug({ caddy: line }, 'caddy');
      }
    });
  }
}

/** Warnings that follow from hiy's config on purpose and tell the operator nothing. */
const EXPECTED_WARNINGS = [
  'automatic HTTPS is completely disabled for server', // tls off
  'automatic HTTP->HTTPS redirects are disabled', // hiy's own redirect server does them
  'server is listening only on the HTTP port, so no automatic HTTPS will be applied to this server',
  'exiting; byeee!! 👋', // hiy stopped it
];

function caddyLevel(line: string): string | undefined {
  try {
    const parsed = JSON.parse(line) as { level?: unknown; msg?: unknown; error?: unknown };
    if (typeof parsed.msg === 'string' && EXPECTED_WARNINGS.includes(parsed.msg)) return 'debug';
    // Certificates of the local CA carry no OCSP responder.
    if (parsed.msg === 'stapling OCSP' && String(parsed.error).includes('no OCSP server specified')) return 'debug';
    return typeof parsed.level === 'string' ? parsed.level : undefined;
  } catch {
    return undefined;
  }
}
