// A printable copy of the configuration (for `check`, debug logs, /v1/status): every secret-bearing field is
// replaced by `true`, as consul-template prints `token: true`, so the output shows that it is set, not what it is.
import type { Config } from './schema.js';
import { SECRET_KEYS } from './schema.js';
import { isRecord } from './sources.js';

// Why: the config holds the Vault token and notifier headers (Authorization); printing it must never show them.
/** A deep copy of `config` with secrets replaced by `true` and passwords in URLs replaced by `redacted`. */
export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config) as unknown;
  for (const key of SECRET_KEYS) redactAt(copy, key);
  if (isRecord(copy)) redactUrls(copy);
  return copy;
}

// Why: SECRET_KEYS use `*` for any record key (notifier names, header names), so the walk fans out there.
function redactAt(node: unknown, key: readonly string[]): void {
  if (!isRecord(node)) return;
  const [head, ...rest] = key;
  if (head === undefined) return;
  for (const name of head === '*' ? Object.keys(node) : [head]) {
    if (!Object.hasOwn(node, name) || node[name] === undefined) continue;
    if (rest.length > 0) redactAt(node[name], rest);
    else node[name] = true;
  }
}

// Why: `https://user:pass@host` carries a password inside a field that is otherwise fine to print.
function redactUrls(copy: Record<string, unknown>): void {
  const vault = copy['vault'];
  if (isRecord(vault) && typeof vault['address'] === 'string') vault['address'] = redactUrl(vault['address']);
  const notifiers = copy['notifiers'];
  if (!isRecord(notifiers)) return;
  for (const notifier of Object.values(notifiers)) {
    const http = isRecord(notifier) ? notifier['http'] : undefined;
    if (isRecord(http) && typeof http['url'] === 'string') http['url'] = redactWebhookUrl(http['url']);
  }
}

// Why: only the userinfo password and query values can be secret; the host and path stay readable.
/** `https://user:pass@host/p?token=x` → `https://user:redacted@host/p?token=redacted`. */
export function redactUrl(text: string): string {
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  if (url.password === '' && url.search === '') return text;
  if (url.password !== '') url.password = 'redacted';
  for (const name of [...new Set(url.searchParams.keys())]) url.searchParams.set(name, 'redacted');
  return url.toString();
}

/** A path segment that could be a credential: it holds a digit, or is 16 characters or more (longer than a word). */
const TOKEN_LIKE = /\d|^.{16,}$/;

// Why: webhook URLs carry their credential in the path (Slack `/services/T…/B…/<token>`, Discord
// `/api/webhooks/<id>/<token>`), so a notifier's URL also hides every path segment that could be one; words such
// as `/-/reload` or `/api/webhooks` stay, so the operator still sees which endpoint failed.
/** redactUrl, and every path segment with a digit or of 16 characters or more replaced by `redacted`. */
export function redactWebhookUrl(text: string): string {
  const shown = redactUrl(text);
  if (!URL.canParse(shown)) return shown;
  const url = new URL(shown);
  const path = url.pathname.split('/').map((segment) => (TOKEN_LIKE.test(decodeURIComponent(segment)) ? 'redacted' : segment)).join('/');
  if (path === url.pathname) return shown;
  url.pathname = path;
  return url.toString();
}
