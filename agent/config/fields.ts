// Field schemas shared by every section of the config: durations (strings in, milliseconds out) and paths.
import * as z from 'zod';
import { DURATION_PATTERN, durationProblem, formatDuration, parseDuration } from './duration.js';

/** The longest duration a config key accepts: 24 days, below what a Node timer can wait for (MAX_TIMER_MS). */
export const MAX_CONFIG_DURATION_MS = 24 * 86_400_000;

// Why: every duration key takes the same unit strings, yields ms, and is capped where a Node timer would overflow.
/** A duration string (`30s`) parsed into milliseconds; the JSON Schema (input side) shows the pattern. */
export function duration(maxMs: number = MAX_CONFIG_DURATION_MS) {
  return z
    .string()
    .meta({ pattern: DURATION_PATTERN, examples: ['250ms', '30s', '1m30s'] })
    .transform((text, ctx) => {
      const problem = durationProblem(text);
      if (problem !== undefined) {
        ctx.issues.push({ code: 'custom', message: `expected a duration such as "30s": ${problem}`, input: undefined });
        return z.NEVER;
      }
      const ms = parseDuration(text);
      if (ms > maxMs) {
        ctx.issues.push({ code: 'custom', message: `expected a duration of at most ${formatDuration(maxMs)}`, input: undefined });
        return z.NEVER;
      }
      return ms;
    });
}

// Why: paths are resolved against the config file's directory or cwd before validation; here they only must be non-empty.
/** A filesystem path (already absolute once loadConfig has resolved it). */
export function filePath() {
  return z.string().min(1, 'expected a non-empty path');
}
