import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with an argument array, never throwing: the exit code is part of the result. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.cwd ?? tmpdir(), GIT_TERMINAL_PROMPT: '0', ...opts.env },
      timeout: opts.timeoutMs ?? 300_000,
      maxBuffer: 64 << 20,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A working copy made from a fixture folder, committed, with the remote `hiy` pointing at a hiy server. */
export class WorkingCopy {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async fromFixture(fixture: string): Promise<WorkingCopy> {
    const dir = mkdtempSync(join(tmpdir(), 'hiy-wc-'));
    cpSync(fixture, dir, { recursive: true });
    const wc = new WorkingCopy(dir);
    await wc.git('init', '-q', '-b', 'main');
    await wc.git('config', 'user.email', 'test@hiy.localhost');
    await wc.git('config', 'user.name', 'hiy test');
    await wc.git('add', '-A');
    await wc.git('commit', '-q', '-m', 'initial');
    return wc;
  }

  async git(...args: string[]): Promise<RunResult> {
    const r = await run('git', args, { cwd: this.dir });
    if (r.code !== 0 && args[0] !== 'push') throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  }

  write(path: string, content: string): void {
    writeFileSync(join(this.dir, path), content);
  }

  async commit(message: string): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '-q', '-m', message);
    return (await this.git('rev-parse', 'HEAD')).stdout.trim();
  }

  /** `git push <url> <refspec>`; the remote output (build log) is on stderr. */
  push(url: string, refspec = 'main', extra: string[] = []): Promise<RunResult> {
    return run('git', ['push', ...extra, url, refspec], { cwd: this.dir, timeoutMs: 600_000 });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** http://git:<token>@host:port/git/<app>.git */
export function remoteUrl(serverUrl: string, app: string, token: string | null): string {
  const u = new URL(`${serverUrl}/git/${app}.git`);
  if (token !== null) {
    u.username = 'git';
    u.password = token;
  }
  return u.toString();
}
