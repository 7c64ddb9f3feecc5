// Unit tests of the per-format encoders: each rule of docs/templates.md, each refusal, and the messages.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { parse as parseYaml } from 'yaml';
import { AgentError } from '../../agent/errors.js';
import { dockerMaxValueBytes, encodeValue, refusalReasons } from '../../agent/template/encoders.js';
import type { RefusalReason } from '../../agent/template/encoders.js';
import { formats } from '../../agent/template/formats.js';
import type { Format } from '../../agent/template/formats.js';

/** Asserts that encoding refuses with ERR_ENCODE_REFUSED and the given reason; returns the message. */
function refused(t: ExecutionContext, format: Format, value: string, reason: RefusalReason): string {
  // Why: every refusal test checks the same three things: class, code, reason.
  const error = t.throws(() => encodeValue(format, value), { instanceOf: AgentError });
  t.is(error.code, 'ERR_ENCODE_REFUSED');
  t.is(error.details['reason'], reason);
  t.is(error.details['format'], format);
  return error.message;
}

test('dotenv writes a value without single quotes or backslash pairs in single quotes, newlines and all', (t) => {
  t.is(encodeValue('dotenv', 'plain'), "'plain'");
  t.is(encodeValue('dotenv', 'a "b" #c\nline2 $HOME'), `'a "b" #c\nline2 $HOME'`);
  t.is(encodeValue('dotenv', ''), "''");
  t.is(encodeValue('dotenv', '  padded\t'), "'  padded\t'");
});

test('dotenv writes a value with a single quote but no double quote or backslash in double quotes with \\n for LF', (t) => {
  t.is(encodeValue('dotenv', "it's"), `"it's"`);
  t.is(encodeValue('dotenv', "x'\nEVIL=1"), `"x'\\nEVIL=1"`);
});

test('dotenv writes a bare value when neither quoting works but the value is safe bare', (t) => {
  t.is(encodeValue('dotenv', 'a\\\\b'), 'a\\\\b');
  t.is(encodeValue('dotenv', 'end\\'), 'end\\');
  t.is(encodeValue('dotenv', `it's "quoted"`), `it's "quoted"`);
  t.is(encodeValue('dotenv', "it's\\ok"), "it's\\ok");
});

test('dotenv refuses a carriage return because Node cannot carry it, suggesting shell, a file or base64', (t) => {
  const message = refused(t, 'dotenv', 'a\rb', 'carriage-return');
  t.regex(message, /carriage return/);
  t.regex(message, /Node/);
  t.regex(message, /format shell/);
  t.regex(message, /FOO_FILE=\/secrets\/foo/);
  t.regex(message, /base64/);
});

test('dotenv refuses ${NAME} and ${NAME:-default} because python-dotenv expands them', (t) => {
  t.regex(refused(t, 'dotenv', 'x${HOME}y', 'interpolation'), /python-dotenv/);
  refused(t, 'dotenv', '${HOME:-/root}', 'interpolation');
  refused(t, 'dotenv', '${}', 'interpolation');
});

test('dotenv keeps dollar forms python-dotenv does not expand', (t) => {
  t.is(encodeValue('dotenv', '$HOME'), "'$HOME'");
  t.is(encodeValue('dotenv', '${A:B}'), "'${A:B}'");
  t.is(encodeValue('dotenv', '${unclosed'), "'${unclosed'");
});

test('dotenv refuses a value with a single quote and a double quote or backslash that also needs quoting, naming why', (t) => {
  const message = refused(t, 'dotenv', `it's "x" #1`, 'dotenv-unquotable');
  t.regex(message, /a hash sign/);
  t.regex(message, /a single quote/);
  t.regex(message, /a double quote/);
  t.regex(refused(t, 'dotenv', "it's\\\nx", 'dotenv-unquotable'), /a line break/);
  t.regex(refused(t, 'dotenv', ' a\\\\b', 'dotenv-unquotable'), /leading whitespace.*two backslashes in a row/);
  t.regex(refused(t, 'dotenv', '"x\\', 'dotenv-unquotable'), /quote character at the start.*trailing backslash/);
  t.regex(refused(t, 'dotenv', "it's\\ ", 'dotenv-unquotable'), /trailing whitespace/);
});

test('shell writes POSIX double quotes escaping only backslash, double quote, dollar and backtick', (t) => {
  t.is(encodeValue('shell', 'a\\b"c$d`e'), '"a\\\\b\\"c\\$d\\`e"');
  t.is(encodeValue('shell', "it's\nx\ry #z"), `"it's\nx\ry #z"`);
  t.is(encodeValue('shell', ''), '""');
});

test('docker writes the value verbatim', (t) => {
  t.is(encodeValue('docker', ` it's "x" #1 \\ $(y) `), ` it's "x" #1 \\ $(y) `);
  t.is(encodeValue('docker', ''), '');
  t.is(encodeValue('docker', "'"), "'");
  t.is(encodeValue('docker', `'x"`), `'x"`);
});

test('docker refuses line feeds and carriage returns because --env-file is line-based', (t) => {
  t.regex(refused(t, 'docker', 'a\nb', 'line-feed'), /line break/);
  refused(t, 'docker', 'a\rb', 'carriage-return');
  refused(t, 'docker', 'a\r\nb', 'line-feed');
});

test('docker refuses values over 65,278 UTF-8 bytes and counts bytes, not characters', (t) => {
  t.is(encodeValue('docker', 'k'.repeat(dockerMaxValueBytes)).length, dockerMaxValueBytes);
  t.regex(refused(t, 'docker', 'k'.repeat(dockerMaxValueBytes + 1), 'too-long'), /64 KiB/);
  refused(t, 'docker', 'é'.repeat(dockerMaxValueBytes / 2 + 1), 'too-long');
});

test('docker refuses a value wrapped in one matching pair of quotes', (t) => {
  t.regex(refused(t, 'docker', "'wrapped'", 'outer-quotes'), /6805/);
  refused(t, 'docker', '""', 'outer-quotes');
});

test('json writes a complete string literal that JSON.parse reads back, with U+2028 and U+2029 escaped', (t) => {
  const value = 'a"b\\c\nd\u2028e\u2029f\u0085🔑\x7f';
  const literal = encodeValue('json', value);
  t.is(JSON.parse(literal), value);
  t.false(/[\u2028\u2029]/.test(literal));
  t.true(literal.includes('\\u2028') && literal.includes('\\u2029'));
});

test('yaml writes a double-quoted scalar with every control, break, BOM, quote and backslash escaped', (t) => {
  t.is(encodeValue('yaml', 'a"b\\c'), '"a\\"b\\\\c"');
  t.is(encodeValue('yaml', '\x07\b\t\n\v\f\r\x1b\x85\u2028\u2029'), '"\\a\\b\\t\\n\\v\\f\\r\\e\\N\\L\\P"');
  t.is(encodeValue('yaml', '\x01\x7f\x9f\ufeff\uffff'), '"\\x01\\x7F\\x9F\\uFEFF\\uFFFF"');
  t.is(encodeValue('yaml', 'é日本🔑 #: -'), '"é日本🔑 #: -"');
});

test('yaml scalars parse back unchanged for every code point up to U+00FF and the special ones above', (t) => {
  const chars = [...Array.from({ length: 255 }, (_v, i) => String.fromCharCode(i + 1)), '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '🔑'];
  for (const ch of chars) {
    const value = `x${ch}y${ch}`;
    const literal = encodeValue('yaml', value);
    t.false(literal.includes('\n'), `U+${ch.codePointAt(0)?.toString(16) ?? ''} stays on one line`);
    t.is((parseYaml(`k: ${literal}\n`) as { k: string }).k, value);
  }
});

test('raw returns the value unchanged, even NUL', (t) => {
  for (const value of ['a\0b', `it's "x"\r\n\${HOME}`]) t.is(encodeValue('raw', value), value);
});

test('every format but raw refuses NUL', (t) => {
  for (const format of formats.filter((f) => f !== 'raw')) t.regex(refused(t, format, 'a\0b', 'nul'), /NUL/);
});

test('every format, raw included, refuses a lone surrogate: UTF-8 would write U+FFFD, another value', (t) => {
  for (const format of formats) {
    t.regex(refused(t, format, 'a\ud800b', 'unpaired-surrogate'), /UTF-8/);
    refused(t, format, '\udc00', 'unpaired-surrogate');
  }
});

test('well-formed surrogate pairs are not mistaken for lone surrogates', (t) => {
  for (const format of formats) t.notThrows(() => encodeValue(format, 'key 🔑'));
});

test('refusal messages never contain the value or any part of it', (t) => {
  const marker = 'Zq7SecretMarker';
  const cases: [Format, string, RefusalReason][] = [
    ['dotenv', `${marker}\r${marker}`, 'carriage-return'],
    ['dotenv', `${marker}\${HOME}${marker}`, 'interpolation'],
    ['dotenv', `${marker}'"#${marker}`, 'dotenv-unquotable'],
    ['docker', `${marker}\n${marker}`, 'line-feed'],
    ['docker', `${marker}\r${marker}`, 'carriage-return'],
    ['docker', marker.repeat(5000), 'too-long'],
    ['docker', `'${marker}'`, 'outer-quotes'],
    ['shell', `${marker}\ufeff${marker}`, 'systemd-forbidden'],
    ['shell', `${marker}\u{10FFFF}${marker}`, 'systemd-forbidden'],
    ...formats.filter((f) => f !== 'raw').map((f): [Format, string, RefusalReason] => [f, `${marker}\0${marker}`, 'nul']),
    ...formats.map((f): [Format, string, RefusalReason] => [f, `${marker}\ud800${marker}`, 'unpaired-surrogate']),
  ];
  for (const [format, value, reason] of cases) {
    const message = refused(t, format, value, reason);
    t.false(message.includes(marker.slice(0, 6)), `${format}/${reason} message leaks the value`);
    t.false(message.includes(marker.slice(-6)), `${format}/${reason} message leaks the value`);
  }
  t.deepEqual([...new Set(cases.map((c) => c[2]))].sort(), [...refusalReasons].sort());
});
