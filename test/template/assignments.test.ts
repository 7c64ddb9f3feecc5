// parseAssignments: each accepted form, each refusal (with the line it names), and agreement with the real consumers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { AgentError } from '../../agent/errors.js';
import { parseAssignments } from '../../agent/template/assignments.js';
import type { Assignment } from '../../agent/template/assignments.js';
import type { AssignmentFormat } from '../../agent/template/formats.js';
import { dockerEnvFile, nodeParseEnv, npmDotenv, pythonDotenv, shellSource } from '../helpers/consumers.js';
import type { EnvRecord } from '../helpers/consumers.js';
import { needing, pythonDotenvMissing } from '../helpers/cli.js';

// The tests that read files with Debian's python-dotenv are skipped with the reason without it (failed in CI):
// a missing module must never count as "the readers disagree".
const withPythonDotenv = needing(pythonDotenvMissing());

const dir = mkdtempSync(join(tmpdir(), 'sa-assign-'));
test.after.always(() => {
  rmSync(dir, { recursive: true, force: true });
});
let fileCount = 0;

/** Writes `text` to a fresh file and returns its path. */
function fileOf(text: string): string {
  // Why: the real consumers read files, not strings.
  const file = join(dir, `f${String(fileCount++)}.env`);
  writeFileSync(file, text);
  return file;
}

/** The assignments as [key, value, line] triples, for compact expectations. */
function triples(format: AssignmentFormat, text: string): [string, string, number][] {
  // Why: one line per expected assignment keeps the tests readable.
  return parseAssignments(format, text).map((a: Assignment) => [a.key, a.value, a.line]);
}

/** Asserts `text` is rejected with ERR_OUTPUT_INVALID at `line`, with a message matching `why` and free of the secret marker. */
function rejects(t: ExecutionContext, format: AssignmentFormat, text: string, line: number, why: RegExp): void {
  // Why: every refusal must name the right line and must not echo the content, which may be a secret.
  const error = t.throws(() => parseAssignments(format, text), { instanceOf: AgentError });
  t.is(error.code, 'ERR_OUTPUT_INVALID');
  t.true(error.message.startsWith(`line ${String(line)}: `), `${error.message} should name line ${String(line)}`);
  t.regex(error.message, why);
  t.false(error.message.includes('s3cr3t'), 'the message repeats the content');
}

const dotenvReaders: Record<string, (file: string) => EnvRecord | Promise<EnvRecord>> = {
  'python-dotenv': pythonDotenv,
  'npm dotenv': (f) => npmDotenv(f),
  'npm dotenv (fast)': (f) => npmDotenv(f, { fast: true }),
  'util.parseEnv': nodeParseEnv,
};

test('dotenv skips empty lines and column-0 comments and reads export, spaces around =, quotes and bare values', (t) => {
  const text = `# comment\n\nA=1\nexport B='x'\n C = "y\\nz" # note\nD=bare value # comment\nE=\nF='it''s'\n`;
  t.throws(() => parseAssignments('dotenv', text), { message: /line 8: text after the closing quote/ });
  t.deepEqual(triples('dotenv', text.replace("F='it''s'\n", "F='a\"b' # c\n")), [
    ['A', '1', 3],
    ['B', 'x', 4],
    ['C', 'y\nz', 5],
    ['D', 'bare value', 6],
    ['E', '', 7],
    ['F', 'a"b', 8],
  ]);
});

test('dotenv quoted values may span lines and later assignments keep their own line numbers', (t) => {
  t.deepEqual(triples('dotenv', "A='l1\nl2\nl3'\nB=\"m1\nm2\"\nC=3"), [
    ['A', 'l1\nl2\nl3', 1],
    ['B', 'm1\nm2', 4],
    ['C', '3', 6],
  ]);
});

test('dotenv rejects lines the three dotenv readers read differently, naming the line', (t) => {
  rejects(t, 'dotenv', 'A=1\n  \nB=2', 2, /only whitespace/);
  rejects(t, 'dotenv', 'A=1\n  # s3cr3t\nB=2', 2, /indented comment/);
  rejects(t, 'dotenv', 'A=1\n# s3cr3t=x', 2, /last line/);
  rejects(t, 'dotenv', '\tA=s3cr3t', 1, /not \[export \]KEY/);
  rejects(t, 'dotenv', 'export\tA=s3cr3t', 1, /not \[export \]KEY/);
  rejects(t, 'dotenv', 'export  A=s3cr3t', 1, /not \[export \]KEY/);
  rejects(t, 'dotenv', 'A=`s3cr3t`', 1, /backtick/);
  rejects(t, 'dotenv', 'A="s3cr3t\\tx"', 1, /backslash inside double quotes/);
  rejects(t, 'dotenv', 'A="s3cr3t\\"\nB=1', 1, /backslash inside double quotes/);
  rejects(t, 'dotenv', "A='s3cr3t\\\\x'", 1, /backslash inside single quotes/);
  rejects(t, 'dotenv', "A='s3cr3t\\'", 1, /backslash inside single quotes/);
  rejects(t, 'dotenv', 'A=${HOME}s3cr3t', 1, /python-dotenv would expand/);
  rejects(t, 'dotenv', "A='${HOME}s3cr3t'", 1, /even inside single quotes/);
  rejects(t, 'dotenv', 'A="${HOME:-x}s3cr3t"', 1, /inside double quotes/);
  rejects(t, 'dotenv', 'A=#s3cr3t', 1, /starting with a hash sign/);
  rejects(t, 'dotenv', 'A=s3cr3t#x', 1, /hash sign inside/);
  rejects(t, 'dotenv', 'A=\ts3cr3t', 1, /leading or trailing whitespace/);
  rejects(t, 'dotenv', 'A=s3cr3t\t# c', 1, /leading or trailing whitespace/);
  rejects(t, 'dotenv', 'A=s3cr3t\u00a0', 1, /leading or trailing whitespace/);
  rejects(t, 'dotenv', "A='x\ny' s3cr3t\nB=1", 2, /text after the closing quote/);
  rejects(t, 'dotenv', "A=1\nB='s3cr3t\nC=3", 2, /single quote opened here is never closed/);
  rejects(t, 'dotenv', 'A=1\nB="s3cr3t\nC=3', 2, /double quote opened here is never closed/);
  rejects(t, 'dotenv', 'A=1\nB=s3cr3t\r\n', 2, /carriage return/);
});

test('every format rejects NUL, lone surrogates, bad keys and lines without =', (t) => {
  for (const format of ['dotenv', 'shell', 'docker'] as const) {
    rejects(t, format, 'A=1\nB=s3cr3t\0', 2, /NUL/);
    rejects(t, format, 'A=1\n\nB=s3cr3t\ud800', 3, /surrogate/);
    rejects(t, format, '1A=s3cr3t', 1, /\^\[A-Za-z_\]/);
    rejects(t, format, 'A-B=s3cr3t', 1, /\^\[A-Za-z_\]/);
    rejects(t, format, 'A=1\ns3cr3t', 2, /no '='/);
  }
});

test('shell reads POSIX double quotes, backslash-newline continuations, multi-line single quotes and safe bare words', (t) => {
  const text = `# c\n  # indented\n\t\nA="a\\\\b\\"c\\$d\\\`e\\nf"\nB="one\\\ntwo"\nC='x\n"$y"'\nD=plain/path:8080,a@b.c+é\nE=\nF="cr\rin"  \n`;
  t.deepEqual(triples('shell', text), [
    ['A', 'a\\b"c$d`e\\nf', 4],
    ['B', 'onetwo', 5],
    ['C', 'x\n"$y"', 7],
    ['D', 'plain/path:8080,a@b.c+é', 9],
    ['E', '', 10],
    ['F', 'cr\rin', 11],
  ]);
});

test('shell rejects what sh would expand or run and what systemd EnvironmentFile= reads differently', (t) => {
  rejects(t, 'shell', 'export A=s3cr3t', 1, /export/);
  rejects(t, 'shell', 'A =s3cr3t', 1, /directly followed by '='/);
  rejects(t, 'shell', 'A=$s3cr3t', 1, /interprets/);
  rejects(t, 'shell', 'A=~/s3cr3t', 1, /interprets/);
  rejects(t, 'shell', 'A=s3cr3t\\x', 1, /interprets/);
  rejects(t, 'shell', "A=it's3cr3t", 1, /interprets/);
  rejects(t, 'shell', 'A="$s3cr3t"', 1, /unescaped dollar/);
  rejects(t, 'shell', 'A="\n`s3cr3t`"', 2, /backtick/);
  rejects(t, 'shell', 'A=s3cr3t b', 1, /text after the value/);
  rejects(t, 'shell', 'A="s3cr3t" # note', 1, /no inline comments/);
  rejects(t, 'shell', "A='s3cr3t'x", 1, /text after the value/);
  rejects(t, 'shell', "A='x\ns3cr3t'y", 2, /text after the value/);
  rejects(t, 'shell', '# s3cr3t \\\nA=1', 1, /comment ending in a backslash/);
  rejects(t, 'shell', 'A=1\nB="s3cr3t\\"\nC=3', 2, /double quote opened here is never closed/);
  rejects(t, 'shell', "A=1\nB='s3cr3t\nC=3", 2, /single quote opened here is never closed/);
  rejects(t, 'shell', 'A=s3cr3t\r\n', 1, /carriage return/);
});

test('docker reads every character after the first = verbatim and trims only before the key', (t) => {
  t.deepEqual(triples('docker', `# c\n\n  A= 'q' "x" #not a comment \nB=a=b\nC=\n\t D=\\n`), [
    ['A', ` 'q' "x" #not a comment `, 3],
    ['B', 'a=b', 4],
    ['C', '', 5],
    ['D', '\\n', 6],
  ]);
});

test('docker rejects carriage returns, lines over 64 KiB and keys with spaces', (t) => {
  rejects(t, 'docker', 'A=s3cr3t\r\n', 1, /carriage return/);
  rejects(t, 'docker', `A=1\nB=${'k'.repeat(65533)}s3cr3t`, 2, /64 KiB/);
  t.is(parseAssignments('docker', `B=${'k'.repeat(65533)}`)[0]?.value.length, 65533);
  rejects(t, 'docker', 'A B=s3cr3t', 1, /\^\[A-Za-z_\]/);
});

// Hand-written files of the accepted subset: the parser must read exactly what every real consumer reads.
const handWritten: Record<AssignmentFormat, string[]> = {
  dotenv: [
    `# settings\n\nA=1\nexport B='x y'\n C = "l1\\nl2" # note\nD=bare value # comment\nE=\nF='multi\nline # not a comment\nG=not a key'\nH="it's"\nI=a'b"c\nJ=ends\\\\\nK='x' # note=1\nL=é日本🔑\n`,
    `TOKEN=abc123\nURL=https://example.test/a?b=c&d=e\nEMPTY=''\nQ='a "#" b'\n`,
  ],
  shell: [
    `# comment\n  # indented\n\nA="a\\\\b\\"c\\$d\\\`e"\nB="one\\\ntwo"\nC='x\n"$y" \\'\nD=plain/path:8080,a@b.c+é\nE=\nF="it's # not a comment"\n  G='g'  \n`,
  ],
  docker: [`# comment\nA=  spaced  \nB="quoted"\nC='single'\nD=#hash\n  E=x=y\n`],
};

const readers: Record<AssignmentFormat, Record<string, (file: string) => EnvRecord | Promise<EnvRecord>>> = {
  dotenv: dotenvReaders,
  shell: { sh: (f) => shellSource('sh', f), bash: (f) => shellSource('bash', f) },
  docker: { 'docker --env-file': (f) => dockerEnvFile(f) },
};

withPythonDotenv('on hand-written files of the accepted subset, parseAssignments agrees with every real consumer', async (t) => {
  for (const format of ['dotenv', 'shell', 'docker'] as const) {
    for (const text of handWritten[format]) {
      const ours = Object.fromEntries(parseAssignments(format, text).map((a) => [a.key, a.value]));
      t.true(Object.keys(ours).length >= 4);
      const file = fileOf(text);
      for (const [name, read] of Object.entries(readers[format])) t.deepEqual(await read(file), ours, `${format}: ${name}`);
    }
  }
});

withPythonDotenv('each dotenv form the parser rejects for disagreement really is read differently by the dotenv readers', async (t) => {
  const disagreements = [
    'A=1\n  \nB=2\n',
    'A=1\n  # c\nB=2\n',
    'A=1\n# a=b',
    '\tA=1\n',
    'export\tA=1\n',
    'A=`x`\n',
    'A="a\\tb"\n',
    'A="a\\rb"\n',
    "A='a\\\\b'\n",
    'A=${HOME}\n',
    "A='${HOME}'\n",
    'A=#x\n',
    'A=a#b\n',
    'A=\tx\n',
    'A=x\t# c\n',
    "A='x' y\nB=1\n",
    'A="x"y\n',
    'A=1\r\nB="a\rb"\n',
  ];
  for (const text of disagreements) {
    t.throws(() => parseAssignments('dotenv', text), { instanceOf: AgentError }, JSON.stringify(text));
    const file = fileOf(text);
    const seen = new Set<string>();
    for (const read of Object.values(dotenvReaders)) {
      try {
        seen.add(JSON.stringify(Object.entries(await read(file)).sort()));
      } catch (error) {
        seen.add(`threw ${(error as Error).message}`);
      }
    }
    t.true(seen.size > 1, `the dotenv readers all agree on ${JSON.stringify(text)}`);
  }
});
