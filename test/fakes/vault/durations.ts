// Vault's duration and time formats, as its Go code produces and accepts them: request TTLs go through
// parseutil.ParseDurationSecond, warnings print a time.Duration with %q, lease times are RFC 3339 with nanoseconds
// (trailing zeros dropped), so the emulator's bytes match a real server's.

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a TTL parameter: a number of seconds (number or digits), or a Go duration such as "72h",
 * "1h30m", "1.5s" (plus Vault's "d"); undefined when absent, "" or unparsable.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) * 1000 : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) total += Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 0);
  return total;
}

/** Whole seconds of a TTL parameter, as a TypeDurationSecond field truncates it. */
export function parseSeconds(value: unknown): number | undefined {
  const ms = parseDuration(value);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** Go's time.Duration.String() of a millisecond count: "0s", "999ms", "3s", "2.5s", "1m30s", "72h0m0s". */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(Math.round(ms));
  if (abs < 1000) return `${sign}${abs}ms`;
  const hours = Math.floor(abs / 3_600_000);
  const minutes = Math.floor((abs % 3_600_000) / 60_000);
  const millis = abs % 60_000;
  const seconds = `${Math.floor(millis / 1000)}${millis % 1000 === 0 ? '' : `.${String(millis % 1000).padStart(3, '0').replace(/0+$/, '')}`}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

/** Go's JSON form of a UTC time.Time (RFC 3339 with up to nine fraction digits, trailing zeros dropped). */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`;
}
