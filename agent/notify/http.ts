// The `http` notifier (docs/design.md "The output directory"): one request with the configured method and headers, `timeout` per attempt,
// and one retry when the request never arrived (network error) or the server failed (5xx). A timed-out attempt
// is not retried: the server may still be acting on it, and a second reload would run twice. Header values and
// the URL's password and query may be secret; neither ever appears in a message.
import { request as httpRequest, validateHeaderName, validateHeaderValue } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { redactWebhookUrl } from '../config/redact.js';
import type { Notifier } from '../config/notifiers.js';
import { formatDuration } from '../config/duration.js';
import { AgentError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { errorCode } from './common.js';

export type HttpNotifier = Extract<Notifier, { http: unknown }>;

export interface HttpOptions {
  clock: Clock;
  /** Pause before the retry; default 1 s. 0 retries at once. */
  retryDelayMs?: number;
}

/** A request the server answered with a 2xx status. */
export interface HttpOutcome {
  status: number;
  attempts: number;
}

export const DEFAULT_RETRY_DELAY_MS = 1_000;

type Attempt = { status: number } | { network: string } | { timedOut: true };

// Why: the dispatcher's entry point; anything but a 2xx (after the one retry) is ERR_NOTIFY.
/** Send the request, retrying once on a network error or 5xx; throws ERR_NOTIFY naming the redacted URL and status. */
export async function sendHttp(notifier: HttpNotifier, options: HttpOptions): Promise<HttpOutcome> {
  const { method } = notifier.http;
  const shown = redactWebhookUrl(notifier.http.url);
  checkHeaders(notifier.http, shown);
  const details = { method, url: shown };
  for (let attempts = 1; ; attempts++) {
    const attempt = await attemptOnce(notifier.http, notifier.timeout, options.clock);
    if ('status' in attempt && attempt.status >= 200 && attempt.status < 300) return { status: attempt.status, attempts };
    const retryable = 'network' in attempt || ('status' in attempt && attempt.status >= 500);
    if (retryable && attempts === 1) {
      const delay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
      if (delay > 0) await options.clock.sleep(delay);
      continue;
    }
    const after = attempts > 1 ? ' (after one retry)' : '';
    if ('timedOut' in attempt) {
      throw new AgentError('ERR_NOTIFY', `http ${method} ${shown} got no answer within ${formatDuration(notifier.timeout)}`, { details: { ...details, attempts, timedOut: true } });
    }
    if ('network' in attempt) {
      throw new AgentError('ERR_NOTIFY', `http ${method} ${shown} failed: ${attempt.network}${after}`, { details: { ...details, attempts, error: attempt.network } });
    }
    throw new AgentError('ERR_NOTIFY', `http ${method} ${shown} answered ${attempt.status}${after}`, { details: { ...details, attempts, status: attempt.status } });
  }
}

// Why: node:http's own header errors are thrown mid-request; checking first gives a message that never quotes a value.
function checkHeaders(http: HttpNotifier['http'], shown: string): void {
  for (const [name, value] of Object.entries(http.headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      throw new AgentError('ERR_NOTIFY', `http ${http.method} ${shown}: header "${name}" has an invalid name or value`, { details: { header: name } });
    }
  }
}

// Why: one attempt with its own timer (through the Clock), classified for the retry decision. node:http rather
// than fetch: no "bad port" list, and user:password in the URL becomes basic auth unless Authorization is set.
function attemptOnce(http: HttpNotifier['http'], timeoutMs: number, clock: Clock): Promise<Attempt> {
  return new Promise((resolve) => {
    const url = new URL(http.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(attempt);
    };
    const request = send(url, { method: http.method, headers: http.headers, agent: false }, (response) => {
      finish({ status: response.statusCode ?? 0 });
      response.destroy(); // the body is never read: it could echo a secret, and nothing needs it
    });
    const timer = clock.setTimeout(() => {
      finish({ timedOut: true });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error) => { finish({ network: errorCode(error) }); });
    request.end();
  });
}
