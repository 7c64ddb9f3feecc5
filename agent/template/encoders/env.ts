// The KEY=value encoders (dotenv, shell, docker), exactly as recommended in docs/templates.md
import { fileOrBase64, refuse } from './refusal.js';

/** What python-dotenv expands (`${NAME}` and `${NAME:-default}`), in every quoting style and without escape. */
export const interpolation = /\$\{[^}:]*(?::-[^}]*)?\}/;

/** The union of what Python's strip() and JS trim() remove. */
// eslint-disable-next-line no-control-regex -- Python's strip() removes the separators \x1c-\x1f, so WS must name them.
export const dotenvWhitespace = /[\t\n\v\f\r \x1c-\x1f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** Longest value docker --env-file takes: the key, `=` and newline must still fit on one 64 KiB line. */
export const dockerMaxValueBytes = 65_278;

/** The text after `KEY=` that python-dotenv, npm dotenv and Node's parser all read back as `value`, or a refusal. */
export function encodeDotenv(value: string): string {
  // Why: the three dotenv readers disagree on escapes, so pick the one form (single, double or bare) all three read alike.
  if (value.includes('\r')) {
    refuse('dotenv', 'carriage-return', "the value contains a carriage return, which Node's built-in .env parser cannot carry in any form", `use format shell, or ${fileOrBase64}`);
  }
  if (interpolation.test(value)) {
    refuse(
      'dotenv',
      'interpolation',
      'the value contains a ${...} sequence, which python-dotenv expands in every quoting style with no way to escape it',
      `use format shell or docker, or ${fileOrBase64}`,
    );
  }
  const singleBlockers = [
    ...(value.includes("'") ? ['a single quote'] : []),
    ...(value.includes('\\\\') ? ['two backslashes in a row'] : []),
    ...(value.endsWith('\\') ? ['a trailing backslash'] : []),
  ];
  if (singleBlockers.length === 0) return `'${value}'`;
  const doubleBlockers = [...(value.includes('"') ? ['a double quote'] : []), ...(value.includes('\\') ? ['a backslash'] : [])];
  if (doubleBlockers.length === 0) return `"${value.replaceAll('\n', '\\n')}"`;
  const bareBlockers = whyNotBare(value);
  if (bareBlockers.length === 0) return value;
  return refuse(
    'dotenv',
    'dotenv-unquotable',
    `the value needs quoting (it has ${bareBlockers.join(', ')}) but holds ${singleBlockers.join(', ')} together with ${doubleBlockers.join(', ')}, ` +
      "and no .env quoting reads that back unchanged in python-dotenv, npm dotenv and Node's built-in parser alike",
    `use format shell, or ${fileOrBase64}`,
  );
}

/** Why a value cannot be written unquoted in dotenv format; empty when it can. */
function whyNotBare(value: string): string[] {
  // Why: the bare form is the last resort, and its limits (comments, trimming, quote detection) differ per reader.
  const first = value.slice(0, 1);
  const last = value.slice(-1);
  return [
    ...(value === '' ? ['no characters'] : []),
    ...(value.includes('\n') ? ['a line break'] : []),
    ...(value.includes('#') ? ['a hash sign'] : []),
    ...(first === "'" || first === '"' || first === '`' ? ['a quote character at the start'] : []),
    ...(dotenvWhitespace.test(first) ? ['leading whitespace'] : []),
    ...(dotenvWhitespace.test(last) ? ['trailing whitespace'] : []),
  ];
}

// U+FEFF, U+FDD0–U+FDEF, and every code point ending in FFFE or FFFF (planes 0–16).
const systemdForbidden = /[\uFEFF\uFDD0-\uFDEF\uFFFE\uFFFF]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]/u;

/** The text after `KEY=` for `set -a; . file` in sh/bash and systemd EnvironmentFile=: POSIX double quotes. */
export function encodeShell(value: string): string {
  // Why: systemd rejects the whole file over a BOM or a noncharacter (systemd's EnvironmentFile= parser), and docs/templates.md
  // names systemd EnvironmentFile= as a consumer of this format.
  if (systemdForbidden.test(value)) {
    refuse('shell', 'systemd-forbidden', 'the value contains a byte-order mark (U+FEFF) or a Unicode noncharacter, which makes systemd reject the whole EnvironmentFile', `use format json or yaml, or ${fileOrBase64}`);
  }
  // Why: inside "…" only \ " $ and ` are special to POSIX shells and systemd, so escaping those four carries everything else.
  return `"${value.replace(/[\\"$`]/g, '\\$&')}"`;
}

/** The text after `KEY=` for docker --env-file, which keeps every byte after `=` up to the end of the line. */
export function encodeDocker(value: string): string {
  // Why: docker has no quoting at all, so the value goes in verbatim and anything a line cannot hold is refused.
  if (value.includes('\n')) {
    refuse('docker', 'line-feed', 'the value contains a line break, and docker --env-file reads one line per variable', `use format dotenv or shell in a separate file, or ${fileOrBase64}`);
  }
  if (value.includes('\r')) {
    refuse(
      'docker',
      'carriage-return',
      'the value contains a carriage return, which docker --env-file drops at the end of a line and treats as a line break before a line feed',
      `use format shell in a separate file, or ${fileOrBase64}`,
    );
  }
  if (Buffer.byteLength(value, 'utf8') > dockerMaxValueBytes) {
    refuse('docker', 'too-long', `the value is longer than ${dockerMaxValueBytes} bytes, and docker --env-file rejects lines over 64 KiB`, fileOrBase64);
  }
  const first = value.slice(0, 1);
  if (value.length >= 2 && (first === "'" || first === '"') && value.endsWith(first)) {
    refuse(
      'docker',
      'outer-quotes',
      'the value starts and ends with the same quote character, which docker --env-file keeps today but would strip if docker/cli#6805 is merged',
      `use format dotenv or shell in a separate file, or ${fileOrBase64}`,
    );
  }
  return value;
}
