/**
 * Programs whose input and output hiy relays, on the Docker engine: one-off containers (hiy run,
 * the dashboard console, runAttached) and commands inside a running container (execAttached, for
 * an add-on's own client). Both use the engine's hijacked attach connection: input is written to
 * it, output comes back raw with a TTY and as multiplexed frames without one. Measured here
 * (Engine 20.10, API 1.41): a half-close of the connection gives the program end of file on its
 * stdin; a TTY's size can only be set once the container runs (ConsoleSize needs API 1.42), so it
 * is set right after the start; with docker-init as PID 1 a Ctrl-C typed into the TTY interrupts
 * the shell's foreground program and not the shell.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Transform, type Duplex, type Readable } from 'node:stream';
import { HiyError } from '../errors.js';
import { containerCreateOptions, envList } from './container-config.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { frameSplitter } from './demux.js';
import type { AttachedProcess, AttachOptions, ContainerSpec, Runtime } from './runtime.js';

type Attached = Pick<Runtime, 'runAttached' | 'execAttached'>;

/** After the program ended, its last output may still be on its way: wait while it keeps flowing, at most this long idle. */
const OUTPUT_IDLE_MS = 2_000;

interface Relay {
  output: Readable;
  /** Settles once the output ended, or stopped flowing for OUTPUT_IDLE_MS. */
  drained(): Promise<void>;
}

/** The attach connection's output as OutputChunk objects, with a way to wait until it has all been read. */
function relay(socket: Duplex, tty: boolean): Relay {
  let last = Date.now();
  let ended = false;
  const touch = new Transform({
    objectMode: true,
    transform(chunk, _enc, cb) {
      last = Date.now();
      cb(null, chunk);
    },
  });
  const split = tty
    ? new Transform({ readableObjectMode: true, transform(c: Buffer, _e, cb) { cb(null, { stream: 'stdout', data: c }); } })
    : frameSplitter();
  socket.pipe(split).pipe(touch);
  // A connection that breaks instead of ending still ends the output.
  const finish = () => { if (!split.writableEnded) split.end(); };
  socket.once('close', finish);
  socket.once('error', finish);
  for (const e of ['end', 'close']) touch.once(e, () => { ended = true; });
  return {
    output: touch,
    async drained() {
      while (!ended && Date.now() - last < OUTPUT_IDLE_MS) await sleep(50);
    },
  };
}

function writer(socket: Duplex): Pick<AttachedProcess, 'write' | 'endInput'> {
  return {
    write(data) { if (socket.writable && !socket.destroyed) socket.write(data); },
    endInput() { if (socket.writable && !socket.destroyed) socket.end(); },
  };
}

const validSize = (cols: number, rows: number): boolean => Number.isInteger(cols) && Number.isInteger(rows) && cols > 0 && rows > 0 && cols <= 1000 && rows <= 1000;

export function dockerAttached(docker: Docker, ensureNetwork: (app: string) => Promise<string>, extraLabels?: Record<string, string>): Attached {
  const removeQuietly = (container: Docker.Container) => container.remove({ force: true, v: false }).catch((err: unknown) => {
    if (statusOf(err) !== 404 && statusOf(err) !== 409) throw engineError(err, `removing container ${container.id}`);
  });

  async function runAttached(spec: ContainerSpec, io: AttachOptions): Promise<AttachedProcess> {
    const options = {
      ...containerCreateOptions({ ...spec, oneOff: true, hostPort: undefined }, extraLabels),
      Tty: io.tty, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    };
    await ensureNetwork(spec.app);
    let container: Docker.Container;
    try {
      container = await docker.createContainer(options);
    } catch (err) {
      if (statusOf(err) === 404) throw new HiyError('conflict', `image ${spec.image} is not on this engine any more (deploy again)`, { cause: err });
      throw engineError(err, `creating container ${spec.name}`);
    }
    let socket: Duplex;
    try {
      // Attached before the start, so not a byte of output is missed.
      socket = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }) as unknown as Duplex;
      await container.start();
    } catch (err) {
      await removeQuietly(container).catch(() => undefined);
      throw engineError(err, `starting container ${spec.name}`);
    }
    const { output, drained } = relay(socket, io.tty);
    const resize = async (cols: number, rows: number) => {
      if (!io.tty || !validSize(cols, rows)) return;
      // A container that already ended cannot be resized; that is no error of the caller's.
      await container.resize({ w: cols, h: rows }).catch(() => undefined);
    };
    if (io.cols !== undefined && io.rows !== undefined) await resize(io.cols, io.rows);
    const exited = (async () => {
      let code = -1;
      try {
        code = ((await container.wait()) as { StatusCode?: number }).StatusCode ?? -1;
      } catch {
        // The engine went away: the container is gone with it, or start-up reconciliation removes it.
      }
      await drained();
      socket.destroy();
      await removeQuietly(container).catch(() => undefined);
      return code;
    })();
    return {
      output,
      ...writer(socket),
      resize,
      exited,
      async kill() {
        await container.kill().catch((err: unknown) => {
          if (statusOf(err) !== 404 && statusOf(err) !== 409) throw engineError(err, `killing container ${spec.name}`);
        });
      },
    };
  }

  async function execAttached(id: string, cmd: string[], io: AttachOptions & { env?: Record<string, string>; user?: string }): Promise<AttachedProcess> {
    if (cmd.length === 0) throw new HiyError('invalid_input', 'no command given');
    let exec: Docker.Exec;
    let socket: Duplex;
    try {
      exec = await docker.getContainer(id).exec({
        Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: io.tty,
        ...(io.env ? { Env: envList(io.env) } : {}), ...(io.user !== undefined ? { User: io.user } : {}),
      });
      socket = await exec.start({ hijack: true, stdin: true, Tty: io.tty }) as unknown as Duplex;
    } catch (err) {
      if (statusOf(err) === 404) throw new HiyError('not_found', `container ${id} not found`, { cause: err });
      if (statusOf(err) === 409) throw new HiyError('conflict', `container ${id} is not running`, { cause: err });
      throw engineError(err, `running a command in container ${id}`);
    }
    const { output, drained } = relay(socket, io.tty);
    const resize = async (cols: number, rows: number) => {
      if (io.tty && validSize(cols, rows)) await exec.resize({ w: cols, h: rows }).catch(() => undefined);
    };
    if (io.cols !== undefined && io.rows !== undefined) await resize(io.cols, io.rows);
    const exited = (async () => {
      await new Promise<void>((resolve) => { for (const e of ['end', 'close', 'error']) socket.once(e, () => resolve()); });
      await drained();
      // The stream ends a moment before the engine records the exit code.
      for (let i = 0; i < 50; i++) {
        const info = await exec.inspect().catch(() => undefined);
        if (!info) return -1;
        if (!info.Running) return info.ExitCode ?? -1;
        await sleep(100);
      }
      return -1;
    })();
    return {
      output,
      ...writer(socket),
      resize,
      exited,
      async kill() {
        socket.destroy();
        // The engine cannot signal an exec'd program, and closing the connection does not end it
        // (its terminal belongs to the engine: measured, `sleep` kept running). hiy runs next to the
        // engine as root, so the program's host pid, which the engine reports, is signalled.
        // Right after the start the program may not run yet (measured): wait for it a moment.
        for (let i = 0; i < 40; i++) {
          const info = await exec.inspect().catch(() => undefined);
          if (!info || (info.ExitCode !== null && info.ExitCode !== undefined)) return;
          if (info.Running && info.Pid > 1) {
            try { process.kill(info.Pid, 'SIGKILL'); } catch { /* already gone, or not ours to signal */ }
            return;
          }
          await sleep(50);
        }
      },
    };
  }

  return { runAttached, execAttached };
}
