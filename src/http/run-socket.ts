/**
 * The run channel (contract.ts RUN_STREAM): relays one run between a WebSocket and its container.
 * Used by the API (`hiy run`, token auth) and the dashboard console (session auth) alike:
 * - binary frames: first byte 0 = input for the program; 1/2 = its stdout/stderr;
 * - text frames: {"type":"resize"|"eof"} from the client; {"type":"started"|"exit"|"error"} to it;
 * - the credential the channel was opened with is asked again every RECHECK_MS (stream-guard.ts):
 *   a revoked token or an ended session kills the run and closes the channel;
 * - a ping every PING_MS: a client that stops answering (its machine vanished) is cut off, and a
 *   client that goes away in any way (Ctrl-C, kill -9, a closed tab) kills the run: its container
 *   never outlives the person who started it.
 */
import type { WebSocket } from 'ws';
import { guardStream } from '../auth/stream-guard.js';
import { RUN_STREAM, type RunClientMessage, type RunServerMessage } from '../contract.js';
import { isHiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutputChunk } from '../runtime/runtime.js';
import type { RunSession } from '../runs/one-off.js';

export const PING_MS = 15_000;
/** Output waits while this much is queued for a slow client: the program is held back, not hiy's memory filled. */
const HIGH_WATER = 1 << 20;

export interface ChannelOptions {
  log: Logger;
  /** The credential the channel was opened with, asked again while it is open. */
  stillValid(): Promise<boolean>;
  /** Why the run ends when stillValid says no ("the API token was revoked"). */
  revoked: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the run (`open`) and relays it; input that arrives before it runs waits for it. */
export function relayRun(ws: WebSocket, open: () => Promise<RunSession>, opts: ChannelOptions): void {
  const send = (msg: RunServerMessage) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg)); };
  let session: RunSession | undefined;
  let gone: string | undefined;
  const early: ((s: RunSession) => void)[] = [];
  const withSession = (fn: (s: RunSession) => void) => { if (session) fn(session); else early.push(fn); };

  ws.on('message', (data, isBinary) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      if (buf[0] === RUN_STREAM.stdin && buf.length > 1) withSession((s) => s.write(buf.subarray(1)));
      return;
    }
    let msg: RunClientMessage;
    try {
      msg = JSON.parse(buf.toString('utf8')) as RunClientMessage;
    } catch {
      return;
    }
    if (msg?.type === 'resize' && Number.isInteger(msg.cols) && Number.isInteger(msg.rows)) withSession((s) => void s.resize(msg.cols, msg.rows));
    else if (msg?.type === 'eof') withSession((s) => s.endInput());
  });

  let alive = true;
  ws.on('pong', () => { alive = true; });
  const ping = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, PING_MS);
  const unguard = guardStream(opts.stillValid, () => {
    opts.log.info({ event: 'run_channel_closed', run: session?.id }, `closed a run channel: ${opts.revoked}`);
    end(opts.revoked);
  });
  function end(reason: string) {
    gone ??= reason;
    if (session) session.hangUp(reason);
  }
  ws.on('close', () => {
    clearInterval(ping);
    unguard();
    end('the client went away');
  });
  ws.on('error', () => ws.terminate());

  void (async () => {
    try {
      session = await open();
    } catch (err) {
      send({ type: 'error', code: isHiyError(err) ? err.code : 'internal', message: isHiyError(err) ? err.message : 'the run could not start (it is in hiy\'s log)' });
      if (!isHiyError(err)) opts.log.error({ err }, 'a run could not start');
      ws.close(1011);
      return;
    }
    const s = session;
    if (gone) s.hangUp(gone);
    send({ type: 'started', run: s.id, container: s.container, release: s.release, tty: s.tty });
    for (const fn of early.splice(0)) fn(s);
    const relayed = (async () => {
      for await (const chunk of s.output) {
        const c = chunk as OutputChunk;
        if (ws.readyState !== ws.OPEN) continue;
        ws.send(Buffer.concat([Buffer.from([c.stream === 'stderr' ? RUN_STREAM.stderr : RUN_STREAM.stdout]), c.data]));
        while (ws.bufferedAmount > HIGH_WATER && ws.readyState === ws.OPEN) await sleep(20);
      }
    })();
    const [finished] = await Promise.all([s.ended, relayed.catch(() => undefined)]);
    send({ type: 'exit', code: finished.code, ...(finished.reason ? { reason: finished.reason } : {}) });
    clearInterval(ping);
    unguard();
    if (ws.readyState === ws.OPEN) ws.close(1000);
  })();
}
