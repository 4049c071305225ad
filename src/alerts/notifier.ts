import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AlertFormat } from '../config.js';
import type { Alert } from './incidents.js';

export type AlertEvent = 'alert' | 'resolved';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** One line a person reads on a phone. */
export function summary(event: AlertEvent, a: Alert): string {
  return event === 'alert' ? `[hiy] ALERT: ${a.message}` : `[hiy] RESOLVED: ${a.resolved_message ?? a.message}`;
}

/**
 * The request for one notification:
 * - json: {"event":"alert"|"resolved","alert":{…the API's alert object…},"text":"…"};
 * - ntfy: the text as the body, title/priority/tags as ntfy headers (URL = the topic URL);
 * - telegram: {"chat_id","text"} for the Bot API's sendMessage (URL =
 *   https://api.telegram.org/bot<token>/sendMessage?chat_id=<id>; the chat id is taken from the URL).
 */
export function webhookRequest(format: AlertFormat, url: string, event: AlertEvent, a: Alert): WebhookRequest {
  const text = summary(event, a);
  if (format === 'ntfy') {
    return {
      url,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        title: event === 'alert' ? `hiy alert: ${a.kind}${a.app ? ` (${a.app})` : ''}` : `hiy resolved: ${a.kind}${a.app ? ` (${a.app})` : ''}`,
        priority: event === 'alert' ? 'high' : 'default',
        tags: event === 'alert' ? 'warning' : 'white_check_mark',
      },
      body: text,
    };
  }
  if (format === 'telegram') {
    const chatId = new URL(url).searchParams.get('chat_id') ?? '';
    return { url, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: chatId, text }) };
  }
  return { url, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event, alert: a, text }) };
}

/** One POST bounded by a ref'd timer; resolves with the status or rejects with why it failed. */
export function post(req: WebhookRequest, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(req.url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = send(u, { method: 'POST', headers: { ...req.headers, 'user-agent': 'hiy-alerts', 'content-length': String(Buffer.byteLength(req.body)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    const timer = setTimeout(() => r.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    r.on('close', () => clearTimeout(timer));
    r.on('error', reject);
    r.end(req.body);
  });
}

export interface Notifier {
  send(event: AlertEvent, a: Alert): Promise<void>;
}

/** POSTs notifications with a few retries; throws the last failure (the caller records it). */
export function webhookNotifier(format: AlertFormat, url: string, retryDelaysMs = [2000, 10_000, 30_000]): Notifier {
  return {
    async send(event, a) {
      const req = webhookRequest(format, url, event, a);
      let last = '';
      for (let attempt = 0; attempt <= retryDelaysMs.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, retryDelaysMs[attempt - 1]));
        try {
          const status = await post(req);
          if (status >= 200 && status < 300) return;
          last = `HTTP ${status}`;
          if (status >= 400 && status < 500 && status !== 429) break; // a wrong URL or token does not heal by retrying
        } catch (err) {
          last = (err as Error).message;
        }
      }
      throw new Error(`webhook delivery failed: ${last}`);
    },
  };
}
