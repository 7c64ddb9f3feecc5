// `secrets-agent audit [--max-age 90d] [--json] [--all [PREFIX]]`: every secret path the templates use (or every
// secret under a prefix) with its backend, version, last-changed time and rotation period — the secret's own
// (docs/operations.md "Rotation"), else --max-age; flags those past due and exits 1 when any is overdue
// (docs/commands.md). Reads metadata only: no value is printed.
import { DurationError, formatDuration, parseDuration } from '../config/duration.js';
import { requestsOf } from '../cycle.js';
import { isCallIdentity } from '../dynamic/identity.js';
import { AgentError } from '../errors.js';
import { ageTargets, secretAges } from '../ops/ages.js';
import type { AgeTarget, SecretAge } from '../ops/ages.js';
import { listAll, normalizePrefix } from '../ops/listing.js';
import { dueAt, readPolicy } from '../rotation/policy.js';
import { pathSegments, resolvedValues } from '../store/values.js';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore, loadConfiguredTemplates } from '../runtime/context.js';
import { ROTATION_MAX_AGE } from './rotate.js';

export interface AuditOptions {
  readonly maxAge?: string;
  readonly json?: boolean;
  /** Every secret under this prefix instead of the templates' paths; `true` (a bare --all) means everything. */
  readonly all?: string | true;
  /** The clock ages are measured on (tests pass a fixed one). */
  readonly clock?: Clock;
}

/** One line of the report; `--json` prints exactly these fields. */
export interface AuditEntry {
  readonly path: string;
  readonly backend: string | null;
  readonly version: string | null;
  readonly lastChanged: string | null;
  readonly ageDays: number | null;
  /** The secret's own rotation period (`30d`), else --max-age. */
  readonly period: string;
  /** lastChanged + period (ISO 8601); null when the last change is unknown. */
  readonly due: string | null;
  /** Running agents may generate its next value (its policy says auto). */
  readonly auto: boolean;
  readonly overdue: boolean;
}

/** The audit line of one age: its own policy (a malformed one is reported and falls back to --max-age). */
function entryOf(age: SecretAge, maxAge: number, now: number, report: (problem: string) => void): AuditEntry {
  const reading = readPolicy(age.labels);
  if ('problem' in reading) report(reading.problem);
  const policy = 'policy' in reading ? reading.policy : undefined;
  const periodMs = policy?.periodMs ?? maxAge;
  const lastChanged = age.lastChanged === null ? null : new Date(age.lastChanged);
  const due = dueAt(lastChanged, periodMs);
  return {
    path: age.path,
    backend: age.backend,
    version: age.version,
    lastChanged: age.lastChanged,
    ageDays: age.ageDays,
    period: policy?.period ?? formatDuration(maxAge),
    due: due === null ? null : due.toISOString(),
    auto: policy?.auto ?? false,
    overdue: due !== null && now > due.getTime(),
  };
}

/** Returns the exit code: 0 none overdue; 1 some overdue, or a path whose age could not be read. */
export async function auditCommand(context: CommandContext, options: AuditOptions = {}): Promise<number> {
  const maxAge = parseMaxAge(options.maxAge ?? ROTATION_MAX_AGE);
  const log = context.log.child({ component: 'audit' });
  const now = (options.clock ?? systemClock).now();
  const store = await createStore(context);
  let problems = 0;
  let ages: SecretAge[];
  try {
    let targets: AgeTarget[];
    if (options.all === undefined) {
      const loaded = await loadConfiguredTemplates(context);
      for (const error of loaded.errors) log.error({ code: error.code, ...error.details }, `${error.message} (its secrets are not audited)`);
      problems += loaded.errors.length;
      // Why: a vault helper call would mint credentials only to be skipped (it has no history to audit).
      const resolutions = await store.resolveAll(loaded.templates.flatMap(requestsOf).filter((request) => !isCallIdentity(request.ref.path)));
      context.scrubber.rotate(resolvedValues(resolutions.values()), pathSegments(resolutions.keys()));
      targets = ageTargets(loaded.templates, resolutions);
    } else {
      targets = await listAll(store.backends, options.all === true ? '' : options.all);
    }
    ages = await secretAges(store.backends, targets, now);
  } finally {
    await store.close();
  }
  for (const age of ages.filter((each) => each.error !== undefined)) log.error({ path: age.path, backend: age.backend }, `cannot tell the age of "${age.path}": ${age.error ?? ''}`);
  problems += ages.filter((each) => each.error !== undefined).length;
  const entries = ages.map((age) => entryOf(age, maxAge, now, (problem) => {
    problems += 1;
    log.error({ path: age.path, backend: age.backend }, `the rotation policy of "${age.path}" is not usable (${problem}); audited against --max-age ${formatDuration(maxAge)} - record it again with secrets-agent rotate ${age.path} --every <period>`);
  }));
  const overdue = entries.filter((entry) => entry.overdue).length;
  if (options.json === true) context.io.stdout.write(`${JSON.stringify(entries)}\n`);
  else context.io.stdout.write(table(ages, entries, maxAge, options.all === undefined ? 'the templates use' : `under "${options.all === true ? '' : normalizePrefix(options.all)}"`));
  return overdue > 0 || problems > 0 ? 1 : 0;
}

function parseMaxAge(text: string): number {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
    throw new DurationError('it must be longer than 0');
  } catch (error) {
    if (error instanceof DurationError) throw new AgentError('ERR_USAGE', `audit: --max-age "${text}": ${error.message}`);
    throw error;
  }
}

/** The text report: one row per path, then a summary line. */
function table(ages: readonly SecretAge[], entries: readonly AuditEntry[], maxAge: number, scope: string): string {
  const rows = entries.map((entry, index) => [entry.path, entry.backend ?? '-', entry.version ?? '-', entry.lastChanged ?? '-', entry.ageDays === null ? '-' : `${entry.ageDays}d`, entry.period, entry.due ?? '-', entry.auto ? 'auto' : '-', status(ages[index], entry)]);
  const header = ['PATH', 'BACKEND', 'VERSION', 'LAST CHANGED', 'AGE', 'PERIOD', 'DUE', 'AUTO', 'STATUS'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  const overdue = entries.filter((entry) => entry.overdue).length;
  const summary = entries.length === 0 ? `no secret paths ${scope}` : `${overdue} of ${entries.length} secret paths ${scope} are past due (their own rotation period, else ${formatDuration(maxAge)})`;
  return `${[line(header), ...rows.map(line)].join('\n')}\n${summary}\n`;
}

function status(age: SecretAge | undefined, entry: AuditEntry): string {
  if (age?.error !== undefined) return 'error (see log)';
  if (entry.overdue) return `OVERDUE (older than ${entry.period})`;
  if (entry.backend === null) return 'not found';
  if (entry.lastChanged === null) return `no history in ${entry.backend}`;
  return 'ok';
}
