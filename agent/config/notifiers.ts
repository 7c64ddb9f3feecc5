// The `notifiers` section (docs/configuration.md): each named notifier is exactly one of signal, command, http or
// touch. Exclusive union of strict objects, so the JSON Schema says `oneOf` and editors can check it.
import * as z from 'zod';
import { duration, filePath } from './fields.js';
import { isHttpUrl } from './values.js';

/** The key that makes a notifier of each kind, in the order of the union's options. */
export const NOTIFIER_KINDS = ['signal', 'command', 'http', 'touch'] as const;

/** Signals a notifier may send; the usual reload signals first. */
export const NOTIFIER_SIGNALS = [
  'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGWINCH', 'SIGCONT', 'SIGALRM', 'SIGKILL',
] as const;

const httpUrl = z.string().refine(isHttpUrl, { error: 'expected an absolute http:// or https:// URL' });

const signal = z.enum(NOTIFIER_SIGNALS);

// Two forms for signal, so the JSON Schema itself says "process or pidFile, not both" with plain oneOf.
const signalProcessNotifier = z.strictObject({
  signal,
  process: z.string().min(1, 'expected a non-empty process name'),
  all: z.boolean().default(false).describe('signal every process of that name; without it, several matches are an error (use pidFile for a master process such as gunicorn)'),
});

const signalPidFileNotifier = z.strictObject({ signal, pidFile: filePath() });

const commandNotifier = z.strictObject({
  command: z.array(z.string().min(1, 'expected a non-empty argument')).min(1, 'expected at least the program name'),
  timeout: duration().prefault('30s'),
});

const httpNotifier = z.strictObject({
  http: z.strictObject({
    url: httpUrl,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    headers: z.record(z.string().min(1), z.string()).default({}),
  }),
  timeout: duration().prefault('10s'),
});

const touchNotifier = z.strictObject({ touch: filePath() });

/** One notifier: exactly one of the four kinds (signal has two forms). Option order matches notifierForm(). */
export const notifierSchema = z.xor([signalProcessNotifier, signalPidFileNotifier, commandNotifier, httpNotifier, touchNotifier]);

// Why: when a notifier fails every form, its issues are reported for the one form the operator evidently meant.
/** The index of the notifierSchema option that `value` is meant to be, or a problem saying why none is. */
export function notifierForm(value: Readonly<Record<string, unknown>>): { index: number } | { problem: string } {
  const has = (key: string) => Object.hasOwn(value, key);
  const kinds = NOTIFIER_KINDS.filter(has);
  const [kind] = kinds;
  if (kind === undefined || kinds.length > 1) {
    const got = kind === undefined ? 'none of them' : kinds.map((name) => `"${name}"`).join(' and ');
    return { problem: `expected exactly one of ${NOTIFIER_KINDS.map((name) => `"${name}"`).join(', ')}, got ${got}` };
  }
  if (kind !== 'signal') return { index: NOTIFIER_KINDS.indexOf(kind) + 1 };
  if (has('process') === has('pidFile')) {
    return { problem: `a signal notifier needs exactly one of "process" or "pidFile", got ${has('process') ? 'both' : 'neither'}` };
  }
  return { index: has('process') ? 0 : 1 };
}

/** The `notifiers` map: name → notifier. Names are what templates list in `notify:`. */
export const notifiersSchema = z
  .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a notifier name uses letters, digits, "_", "." and "-"'), notifierSchema)
  .default({});

export type Notifier = z.output<typeof notifierSchema>;
