/**
 * `hiy run`'s end of the run channel (contract.ts RUN_STREAM). With a terminal on both stdin and
 * stdout: raw mode, so every key (Ctrl-C, Ctrl-D, arrows) goes to the program and its terminal
 * does the rest; window size changes are sent along; the terminal is restored however this ends.
 * Otherwise stdin is piped to the program and its end is the program's end of file, and stdout
 * and stderr stay apart. Resolves the program's exit code.
 */
import type WebSocket from 'ws';
import { RUN_STREAM, type RunClientMessage, type RunServerMessage } from '../contract.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';

type TtyIn = Io['stdin'] & { setRawMode?(raw: boolean): void; isRaw?: boolean };
type TtyOut = Io['stdout'] & { columns?: number; rows?: number; isTTY?: boolean };

/** While this much is queued for hiy, stdin waits (a large pipe is not read into memory). */
const HIGH_WATER = 1 << 20;
/** Exit codes for the signals that end `hiy run` itself, as a shell reports them. */
const SIGNAL_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export function terminalSize(out: TtyOut): { cols: number; rows: number } | undefined {
  return out.columns && out.rows ? { cols: out.columns, rows: out.rows } : undefined;
}

export async function relayTerminal(ws: WebSocket, io: Io, tty: boolean, onStarted: (m: Extract<RunServerMessage, { type: 'started' }>) => void): Promise<number> {
  const stdin = io.stdin as TtyIn;
  const stdout = io.stdout as TtyOut;
  const control = (m: RunClientMessage) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m)); };
  const cleanups: (() => void)[] = [];
  const on = (target: NodeJS.EventEmitter, event: string, fn: (...a: any[]) => void) => {
    target.on(event, fn);
    cleanups.push(() => target.off(event, fn));
  };

  if (tty) {
    stdin.setRawMode?.(true);
    cleanups.push(() => stdin.setRawMode?.(false));
    on(stdout, 'resize', () => { const size = terminalSize(stdout); if (size) control({ type: 'resize', ...size }); });
  }
  // The terminal comes back even when hiy run dies of an exception or a signal.
  const restore = () => { if (tty) stdin.setRawMode?.(false); };
  on(process, 'exit', restore);

  try {
    return await new Promise<number>((resolve, reject) => {
      let exit: Extract<RunServerMessage, { type: 'exit' }> | undefined;
      on(stdin, 'data', (d: Buffer) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(Buffer.concat([Buffer.from([RUN_STREAM.stdin]), d]));
        if (ws.bufferedAmount > HIGH_WATER) {
          stdin.pause();
          const wait = setInterval(() => { if (ws.bufferedAmount < HIGH_WATER / 2 || ws.readyState !== ws.OPEN) { clearInterval(wait); stdin.resume(); } }, 20);
        }
      });
      on(stdin, 'end', () => control({ type: 'eof' }));
      stdin.resume();
      for (const signal of Object.keys(SIGNAL_CODES)) {
        // Without a terminal (or from outside), a signal ends hiy run; closing the channel ends the program.
        on(process, signal, () => {
          ws.close();
          resolve(SIGNAL_CODES[signal]!);
        });
      }
      on(ws, 'message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          const target = data[0] === RUN_STREAM.stderr ? io.stderr : stdout;
          if (!target.write(data.subarray(1))) {
            ws.pause();
            target.once('drain', () => ws.resume());
          }
          return;
        }
        let m: RunServerMessage;
        try { m = JSON.parse(data.toString('utf8')) as RunServerMessage; } catch { return; }
        if (m.type === 'started') onStarted(m);
        else if (m.type === 'exit') exit = m;
        else if (m.type === 'error') reject(new CliError(m.message, { code: m.code }));
      });
      on(ws, 'close', () => {
        if (!exit) return reject(new CliError('the connection to hiy broke off before the program ended (the program was stopped)'));
        if (exit.reason) io.stderr.write(`hiy: ${exit.reason}\n`);
        resolve(exit.code >= 0 && exit.code <= 255 ? exit.code : 1);
      });
      on(ws, 'error', (err: Error) => reject(new CliError(`the connection to hiy failed: ${err.message}`)));
    });
  } finally {
    for (const c of cleanups.reverse()) c();
    restore();
    // Paused, a stdin still open (a pipe, the terminal) does not keep hiy run waiting.
    stdin.pause();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
  }
}
