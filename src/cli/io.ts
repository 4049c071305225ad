import { createInterface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';

/** Where a command reads and writes; tests and the binary pass the process's streams. */
export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

export const processIo = (): Io => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

/**
 * Reads one line from stdin (the prompt goes to stderr so stdout stays clean for pipes). `hidden`
 * keeps a typed token off the screen. Resolves undefined when stdin ends without a line.
 */
export function readLine(io: Io, prompt: string, opts: { hidden?: boolean } = {}): Promise<string | undefined> {
  const tty = io.stdin.isTTY === true;
  if (tty) io.stderr.write(prompt);
  const mute = new Writable({ write(_c, _e, cb) { cb(); } });
  const rl = createInterface({ input: io.stdin, output: tty && !opts.hidden ? io.stderr : mute, terminal: tty });
  return new Promise((resolve) => {
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      if (tty && opts.hidden) io.stderr.write('\n');
      resolve(line.trim());
    });
    rl.once('close', () => { if (!answered) resolve(undefined); });
  });
}
