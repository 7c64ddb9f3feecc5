// `rotate --generate N`: N characters of the chosen alphabet, drawn with the CSPRNG.
import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { charsets, generateSecret, parseLength } from '../../agent/ops/generate.js';

test('a generated value has exactly N characters of the chosen alphabet', (t) => {
  t.regex(generateSecret(64, 'base62'), /^[A-Za-z0-9]{64}$/);
  t.regex(generateSecret(17, 'hex'), /^[0-9a-f]{17}$/);
  t.not(generateSecret(32, 'base62'), generateSecret(32, 'base62'));
});

test('each character is one uniform draw over the whole alphabet', (t) => {
  const draws: number[] = [];
  const value = generateSecret(5, 'base62', (max) => { draws.push(max); return draws.length === 1 ? 0 : max - 1; });
  t.deepEqual(draws, [62, 62, 62, 62, 62]);
  t.is(value, `A${'9'.repeat(4)}`);
  t.is(charsets.base62.length, 62);
  t.is(new Set(charsets.base62).size, 62);
});

test('every character of the alphabet turns up, none more than chance allows', (t) => {
  const counts = new Map<string, number>();
  for (const ch of generateSecret(62_000, 'base62')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  t.is(counts.size, 62);
  for (const [ch, count] of counts) t.true(count > 800 && count < 1200, `${ch}: ${count}`);
});

test('--generate takes a whole number from 16 to 4096', (t) => {
  t.is(parseLength('16'), 16);
  t.is(parseLength('4096'), 4096);
  for (const text of ['15', '4097', '0', '-20', '20.5', '1e3', 'abc', '']) {
    const error = t.throws(() => parseLength(text), undefined, text);
    t.true(isAgentError(error, 'ERR_USAGE'));
  }
});
