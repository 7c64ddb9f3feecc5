// Small pieces every notifier shares: the facts a run reports, and errno codes in place of OS messages.

/** Facts about one notifier run (pids, exit status, byte counts, HTTP status) for the log line. Never a value. */
export type NotifyDetails = Record<string, string | number | boolean>;

// Why: OS error messages are not needed and are kept out of logs and ERR_NOTIFY messages; the errno code says enough.
/** The `code` of a Node system error (`ENOENT`), else the error's name. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : 'unknown error';
}
