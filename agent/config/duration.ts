// Durations are strings with units (docs/configuration.md): `250ms`, `30s`, `5m`, `2h`, `90d`, or a combination
// from the largest unit down (`1m30s`, `1h30m`). A bare `0` is accepted too. The result is milliseconds.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

/** The accepted syntax as an ECMAScript regular expression, published in the JSON Schema for editors. */
export const DURATION_PATTERN = '^(?:0|(?=\\d)(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?(?:\\d+ms)?)$';

/** The largest duration a Node timer can wait for (2^31-1 ms); longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const PART = /(\d+)([A-Za-z]*)/y;

/** Thrown by parseDuration; the message says what is wrong without repeating the input. */
export class DurationError extends Error {
  override name = 'DurationError' as const;
}

// Why: the schema needs the reason without the value (values are never echoed), the CLI needs both.
/** Why `text` is not a duration, or undefined when it is one. The reason never repeats the input. */
export function durationProblem(text: string): string | undefined {
  try {
    parseMs(text);
    return undefined;
  } catch (error) {
    if (error instanceof DurationError) return error.message;
    throw error;
  }
}

// Why: one parser shared by the config schema, the CLI (`audit --max-age 90d`) and tests.
/** Parse `250ms`, `30s`, `5m`, `2h`, `90d`, `1m30s` or `0` into milliseconds; throws DurationError otherwise. */
export function parseDuration(text: string): number {
  return parseMs(text);
}

// Why: a sticky-regex scan gives a precise reason (missing unit, unknown unit, wrong order) for each failure.
function parseMs(text: string): number {
  if (typeof text !== 'string' || text === '') throw new DurationError('a duration must be a non-empty string such as "30s"');
  if (text === '0') return 0;
  let total = 0;
  let position = 0;
  let lastRank = -1;
  while (position < text.length) {
    PART.lastIndex = position;
    const match = PART.exec(text);
    if (match === null) {
      throw new DurationError('expected a whole number followed by a unit (ms, s, m, h, d), such as "30s" or "1m30s"');
    }
    const [whole, digits = '', unit = ''] = match;
    if (unit === '') {
      const rest = text.slice(position + whole.length);
      if (rest === '') throw new DurationError('a number is missing its unit (ms, s, m, h or d)');
      throw new DurationError(rest.startsWith('.') ? 'use whole numbers, such as "90s" for 1.5m' : 'expected a unit (ms, s, m, h or d) after each number');
    }
    if (!Object.hasOwn(UNIT_MS, unit)) throw new DurationError('unknown unit; use ms, s, m, h or d');
    const rank = UNIT_ORDER.indexOf(unit as Unit);
    if (rank <= lastRank) throw new DurationError('each unit may appear once, largest first, such as "1h30m"');
    lastRank = rank;
    total += Number(digits) * UNIT_MS[unit as Unit];
    position += whole.length;
  }
  if (!Number.isSafeInteger(total)) throw new DurationError('the duration is too large');
  return total;
}

// Why: logs and `check` print durations back in the same unit syntax the operator wrote.
/** Format milliseconds as the shortest unit string, such as `1m30s`; 0 is `0s`. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError('a duration must be a non-negative whole number of milliseconds');
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * UNIT_MS[unit];
  }
  return out;
}
