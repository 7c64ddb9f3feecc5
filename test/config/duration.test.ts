import test from 'ava';
import { DURATION_PATTERN, DurationError, durationProblem, formatDuration, parseDuration } from '../../agent/config/duration.js';

test('every unit of docs/configuration.md parses to milliseconds', (t) => {
  t.is(parseDuration('250ms'), 250);
  t.is(parseDuration('30s'), 30_000);
  t.is(parseDuration('5m'), 300_000);
  t.is(parseDuration('2h'), 7_200_000);
  t.is(parseDuration('90d'), 90 * 86_400_000);
});

test('zero and combined units parse', (t) => {
  t.is(parseDuration('0s'), 0);
  t.is(parseDuration('0'), 0);
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('1h30m15s500ms'), 5_415_500);
});

test('invalid durations throw a DurationError that says what is wrong', (t) => {
  const cases: [string, RegExp][] = [
    ['', /non-empty/],
    ['30', /missing its unit/],
    ['30x', /unknown unit/],
    ['1.5m', /whole numbers/],
    ['-5s', /whole number followed by a unit/],
    ['30s1m', /largest first/],
    ['1s1s', /largest first/],
    ['s', /whole number followed by a unit/],
    [' 30s', /whole number followed by a unit/],
    ['99999999999999999999d', /too large/],
  ];
  for (const [text, reason] of cases) {
    const error = t.throws(() => parseDuration(text), { instanceOf: DurationError }, text);
    t.regex(error.message, reason, text);
  }
});

test('durationProblem returns the reason without repeating the input', (t) => {
  t.is(durationProblem('30s'), undefined);
  const problem = durationProblem('hvs.SECRET');
  t.truthy(problem);
  t.false(problem?.includes('hvs.SECRET'));
});

test('the published pattern accepts exactly what parseDuration accepts', (t) => {
  const pattern = new RegExp(DURATION_PATTERN);
  for (const text of ['250ms', '30s', '5m', '5ms', '2h', '90d', '0s', '0', '1m30s', '1d2h3m4s5ms']) {
    t.true(pattern.test(text), text);
    t.notThrows(() => parseDuration(text), text);
  }
  for (const text of ['', '30', '1.5m', '30s1m', 'm', '5 s', '-1s', '1s1s']) {
    t.false(pattern.test(text), text);
    t.throws(() => parseDuration(text), undefined, text);
  }
});

test('formatDuration writes the shortest unit string and round-trips', (t) => {
  t.is(formatDuration(0), '0s');
  t.is(formatDuration(90_000), '1m30s');
  t.is(formatDuration(250), '250ms');
  t.is(formatDuration(86_400_000), '1d');
  for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 90 * 86_400_000 + 5]) t.is(parseDuration(formatDuration(ms)), ms);
});
