// Shape checks for string values of the config that are more than "a string": the listener address,
// the cron schedule, URLs. Each returns a reason that never repeats the value (values are never echoed).
import { isIP } from 'node:net';

/** A parsed `listen` address: host (IPv6 without brackets) and port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

// Why: the listener and the schema must agree on what `host:port` means, so both use this parser.
/** Parse `127.0.0.1:9876`, `localhost:9876` or `[::1]:9876`; undefined when it is not host:port. */
export function parseListen(text: string): ListenAddress | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  const plain = /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const host = bracketed?.[1] ?? plain?.[1];
  const portText = bracketed?.[2] ?? plain?.[2];
  if (host === undefined || portText === undefined) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  if (bracketed !== null && isIP(host) !== 6) return undefined;
  if (plain !== null && isIP(host) !== 4 && !HOSTNAME.test(host)) return undefined;
  return { host, port };
}

const CRON_FIELD = /^[0-9A-Za-z*?/,#-]+$/;

// Why: a cheap shape check catches typos at load time; node-cron itself validates ranges when scheduling.
/** Why `text` is not a 5- or 6-field cron expression, or undefined when its shape is right. */
export function cronProblem(text: string): string | undefined {
  const fields = text.trim().split(/\s+/).filter((field) => field !== '');
  if (fields.length !== 5 && fields.length !== 6) {
    return `expected a cron expression of 5 or 6 fields such as "*/5 * * * *", got ${fields.length} field${fields.length === 1 ? '' : 's'}`;
  }
  const bad = fields.findIndex((field) => !CRON_FIELD.test(field));
  if (bad >= 0) return `field ${bad + 1} of the cron expression holds a character cron does not use`;
  return undefined;
}

// Why: vault.address and http notifier URLs must be absolute http(s) URLs; `new URL` alone accepts `foo:bar`.
/** True when `text` is an absolute http:// or https:// URL with a host. */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}
