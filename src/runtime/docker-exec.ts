/**
 * `docker exec` with streams: stdin fed from a Readable and closed (a half-close of the hijacked
 * connection), stdout to a Writable with backpressure, stderr kept (its tail) for the message.
 * docker-modem's demuxStream ignores backpressure, so a dump streamed to a slow client would pile
 * up in memory; this demultiplexer pauses the engine's stream until the sink drains.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { HiyError } from '../errors.js';
import type { ExecOptions, ExecResult } from './addons.js';
import { engineError, statusOf, type Docker } from './docker-client.js';

const STDOUT_COLLECT_MAX = 1 << 20;
const STDERR_KEEP = 8 * 1024;

/** Feeds Docker's multiplexed frames ([type, 0, 0, 0, length BE] + payload) to stdout/stderr as they come. */
class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (type: number, payload: Buffer) => boolean) {}

  /** Returns false when the stdout sink asked to wait (the caller pauses until it drains). */
  push(chunk: Buffer): boolean {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let ok = true;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      const type = this.buf[0] ?? 1;
      const payload = this.buf.subarray(8, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      if (!this.onFrame(type, payload)) ok = false;
    }
    return ok;
  }
}

export async function execIn(docker: Docker, container: string, opts: ExecOptions): Promise<ExecResult> {
  let exec: Docker.Exec;
  try {
    exec = await docker.getContainer(container).exec({ Cmd: opts.cmd, AttachStdin: opts.stdin !== undefined, AttachStdout: true, AttachStderr: true, Tty: false });
  } catch (err) {
    if (statusOf(err) === 404) throw new HiyError('not_found', `container ${container} not found`, { cause: err });
    if (statusOf(err) === 409) throw new HiyError('conflict', `container ${container} is not running`, { cause: err });
    throw engineError(err, `running ${opts.cmd[0] ?? 'a command'} in ${container}`);
  }
  let stream: Duplex;
  try {
    stream = await exec.start({ hijack: true, stdin: opts.stdin !== undefined });
  } catch (err) {
    throw engineError(err, `running ${opts.cmd[0] ?? 'a command'} in ${container}`);
  }
  const collected: Buffer[] = [];
  let collectedBytes = 0;
  let stderr = '';
  const sink: Writable | undefined = opts.stdout;
  const splitter = new FrameSplitter((type, payload) => {
    if (type === 2) {
      stderr = (stderr + payload.toString('utf8')).slice(-STDERR_KEEP);
      return true;
    }
    if (sink) return sink.write(payload);
    if (collectedBytes < STDOUT_COLLECT_MAX) {
      collected.push(payload.subarray(0, STDOUT_COLLECT_MAX - collectedBytes));
      collectedBytes += payload.length;
    }
    return true;
  });

  let failure: Error | undefined;
  const cut = (err: Error) => { failure ??= err; stream.destroy(); };
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', (err) => { failure ??= err; resolve(); });
  });
  stream.on('data', (chunk: Buffer) => {
    if (!splitter.push(chunk) && sink) {
      stream.pause();
      sink.once('drain', () => stream.resume());
    }
  });
  // A sink that goes away (the client hung up) ends the command: its stdout pipe breaks.
  sink?.once('error', (err) => cut(err));
  sink?.once('close', () => { if (!sink.writableFinished) cut(new HiyError('unavailable', 'the receiver went away')); });
  const timer = opts.timeoutSec ? setTimeout(() => cut(new HiyError('unavailable', `${opts.cmd[0] ?? 'the command'} did not finish within ${opts.timeoutSec} s`)), opts.timeoutSec * 1000) : undefined;
  const abort = () => cut(new HiyError('unavailable', 'aborted'));
  opts.signal?.addEventListener('abort', abort, { once: true });
  if (opts.stdin) feed(opts.stdin, stream, cut);
  try {
    await ended;
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', abort);
  }
  if (failure) throw failure;
  const exitCode = await exitCodeOf(exec);
  return { exitCode, stdout: Buffer.concat(collected).toString('utf8'), stderr };
}

/** stdin into the hijacked connection; its end half-closes it, which closes the command's stdin. */
function feed(stdin: Readable, stream: Duplex, cut: (err: Error) => void): void {
  stdin.once('error', (err) => cut(err));
  stdin.pipe(stream);
}

/** The engine records the exit code a moment after the stream ends. */
async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && typeof info.ExitCode === 'number') return info.ExitCode;
    await new Promise((r) => setTimeout(r, 100));
  }
  return -1;
}
