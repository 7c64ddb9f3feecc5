// Every hostile value, in every format, between neighbour lines, rendered by the real template engine (front
// matter, AST rewrite, encoder, validate-before-write) and read back by every REAL consumer of that format:
// each accepted value must come back byte-for-byte with exactly the neighbours and KEY (nothing injected, nothing
// eaten), and each refused value must have been refused with ERR_ENCODE_REFUSED (docs/templates.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { parseDocument } from 'yaml';
import { isAgentError } from '../../agent/errors.js';
import { parseAssignments } from '../../agent/template/assignments.js';
import { prepareTemplate } from '../../agent/template/load.js';
import { renderTemplate } from '../../agent/template/render.js';
import type { AssignmentFormat, Format } from '../../agent/template/formats.js';
import { hostileValues } from '../fixtures/hostile.js';
import { dockerEnvFile, nodeParseEnv, npmDotenv, pythonDotenvMany, shellSource } from '../helpers/consumers.js';
import type { EnvRecord } from '../helpers/consumers.js';
import { needing, pythonDotenvMissing } from '../helpers/cli.js';

// Debian's python-dotenv is one of the dotenv consumers: without it that test is skipped with the reason (failed in CI).
const withPythonDotenv = needing(pythonDotenvMissing());

type CorpusFormat = Exclude<Format, 'raw'>;
interface Layout {
  name: string;
  /** The file text around `KEY=<encoded>` (or the document holding the literal). */
  render(encoded: string): string;
  /** What the consumers must read, given the value. */
  expect(value: string): EnvRecord;
}
interface Case {
  id: string;
  value: string;
  file: string;
  text: string;
  expected: EnvRecord;
}

// Plain neighbours, and quoted ones that catch a quote running on past its own line.
const envLayouts = (quotedAs: (q: string, quote: string) => string): Layout[] => [
  { name: 'plain', render: (e) => `BEFORE=before\nKEY=${e}\nAFTER=after\n`, expect: (v) => ({ BEFORE: 'before', KEY: v, AFTER: 'after' }) },
  {
    name: 'quoted',
    render: (e) => `Q1='q1'\nKEY=${e}\nQ2="q2"\nQ3='q3'\n`,
    expect: (v) => ({ Q1: quotedAs('q1', "'"), KEY: v, Q2: quotedAs('q2', '"'), Q3: quotedAs('q3', "'") }),
  },
];
const unquoted = (q: string): string => q;
const layouts: Record<CorpusFormat, Layout[]> = {
  dotenv: envLayouts(unquoted),
  shell: envLayouts(unquoted),
  docker: envLayouts((q, quote) => `${quote}${q}${quote}`), // docker keeps the quotes of its neighbours too
  json: [{ name: 'object', render: (e) => `{\n  "BEFORE": "before",\n  "KEY": ${e},\n  "AFTER": "after"\n}\n`, expect: (v) => ({ BEFORE: 'before', KEY: v, AFTER: 'after' }) }],
  yaml: [
    { name: 'plain', render: (e) => `BEFORE: before\nKEY: ${e}\nAFTER: after\n`, expect: (v) => ({ BEFORE: 'before', KEY: v, AFTER: 'after' }) },
    { name: 'quoted', render: (e) => `Q1: 'q1'\nKEY: ${e}\nQ2: "q2"\n`, expect: (v) => ({ Q1: 'q1', KEY: v, Q2: 'q2' }) },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'sa-corpus-'));
test.after.always(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Render `value` into `layout` through a real template: `KEY={{secret "corpus/value"}}` between its neighbours. */
function renderCase(format: CorpusFormat, layout: Layout, value: string): string {
  const template = prepareTemplate(`corpus/${layout.name}.hbs`, `${layout.name}.hbs`, `---\nformat: ${format}\n---\n${layout.render('{{secret "corpus/value"}}')}`);
  return renderTemplate(template, { lookup: () => ({ status: 'found', data: value }), env: {} });
}

/** Render every corpus value for `format`: the files of the accepted ones, the names of the refused ones. */
function build(format: CorpusFormat): { cases: Case[]; refused: string[]; otherErrors: string[] } {
  // Why: the refusal decision and the files are made once per format and shared by the consumer checks.
  const cases: Case[] = [];
  const refused = new Set<string>();
  const otherErrors: string[] = [];
  hostileValues.forEach(({ name, value }, index) => {
    for (const layout of layouts[format]) {
      let text: string;
      try {
        text = renderCase(format, layout, value);
      } catch (error) {
        if (isAgentError(error, 'ERR_ENCODE_REFUSED')) refused.add(name);
        else otherErrors.push(`${name} (${layout.name}): ${(error as Error).message}`);
        continue;
      }
      const file = join(dir, `${format}-${String(index)}-${layout.name}`);
      writeFileSync(file, text);
      cases.push({ id: `${name} (${layout.name})`, value, file, text, expected: layout.expect(value) });
    }
  });
  return { cases, refused: [...refused], otherErrors };
}

/** Runs `read` on every case, an error becoming its message, keyed by case id. */
async function readAll(cases: readonly Case[], read: (c: Case) => EnvRecord | Promise<EnvRecord>): Promise<Record<string, EnvRecord | string>> {
  // Why: comparing one object per consumer shows every failing value in a single diff.
  const out: Record<string, EnvRecord | string> = {};
  const queue = [...cases];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        out[c.id] = await read(c);
      } catch (error) {
        out[c.id] = `threw: ${(error as Error).message.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  return out;
}

/** Asserts every consumer read every case back exactly. */
async function assertConsumers(t: ExecutionContext, cases: readonly Case[], consumers: Record<string, (c: Case) => EnvRecord | Promise<EnvRecord>>): Promise<void> {
  // Why: deep equality of whole records proves both the value and "no key injected or lost".
  const expected = Object.fromEntries(cases.map((c) => [c.id, c.expected]));
  for (const [consumer, read] of Object.entries(consumers)) {
    t.deepEqual(await readAll(cases, read), expected, `${consumer} read back something else`);
  }
}

/** python-dotenv batched: one interpreter for all files of a format. */
async function pythonReader(cases: readonly Case[]): Promise<(c: Case) => EnvRecord> {
  // Why: python start-up dominates; batching keeps the corpus test fast.
  const results = await pythonDotenvMany(cases.map((c) => c.file));
  const byFile = new Map(cases.map((c, i) => [c.file, results[i]]));
  return (c) => {
    const r = byFile.get(c.file);
    if (r === undefined || r instanceof Error) throw r ?? new Error('no result');
    return r;
  };
}

/** parseAssignments as one more reader: it must agree with the consumers. */
function assignmentsReader(format: AssignmentFormat): (c: Case) => EnvRecord {
  // Why: validate-before-write relies on the agent's own parser reading exactly what the consumers read.
  return (c) => Object.fromEntries(parseAssignments(format, c.text).map((a) => [a.key, a.value]));
}

const corpus = Object.fromEntries((['dotenv', 'shell', 'docker', 'json', 'yaml'] as const).map((f) => [f, build(f)])) as Record<CorpusFormat, ReturnType<typeof build>>;

test('rendering a corpus value either succeeds or is refused with ERR_ENCODE_REFUSED, never another error', (t) => {
  for (const { otherErrors } of Object.values(corpus)) t.deepEqual(otherErrors, []);
  t.true(hostileValues.length >= 30);
});

withPythonDotenv('every accepted dotenv value reads back exactly in python-dotenv, both npm dotenv parsers and util.parseEnv', async (t) => {
  const { cases } = corpus.dotenv;
  await assertConsumers(t, cases, {
    'python-dotenv': await pythonReader(cases),
    'npm dotenv': (c) => npmDotenv(c.file),
    'npm dotenv (fast)': (c) => npmDotenv(c.file, { fast: true }),
    'util.parseEnv': (c) => nodeParseEnv(c.file),
    parseAssignments: assignmentsReader('dotenv'),
  });
});

test('every accepted shell value reads back exactly when sh and bash source the file with set -a', async (t) => {
  const { cases } = corpus.shell;
  await assertConsumers(t, cases, {
    sh: (c) => shellSource('sh', c.file),
    bash: (c) => shellSource('bash', c.file),
    parseAssignments: assignmentsReader('shell'),
  });
});

test('every accepted docker value reads back exactly through the docker --env-file reader', async (t) => {
  const { cases } = corpus.docker;
  await assertConsumers(t, cases, { 'docker --env-file': (c) => dockerEnvFile(c.file), parseAssignments: assignmentsReader('docker') });
});

test('every accepted json value is a literal that JSON.parse reads back inside an object', async (t) => {
  await assertConsumers(t, corpus.json.cases, { 'JSON.parse': (c) => JSON.parse(c.text) as EnvRecord });
});

test('every accepted yaml value is a scalar that the yaml package reads back inside a mapping, without errors or warnings', async (t) => {
  await assertConsumers(t, corpus.yaml.cases, {
    yaml: (c) => {
      const doc = parseDocument(c.text, { uniqueKeys: true });
      if (doc.errors.length > 0 || doc.warnings.length > 0) throw new Error([...doc.errors, ...doc.warnings].map((e) => e.code).join(', '));
      return doc.toJS() as EnvRecord;
    },
  });
});

test('the refused values per format are exactly the ones the reference predicts', (t) => {
  const unwritable = ['NUL', 'lone surrogate'];
  const refusedOf = (f: CorpusFormat): string[] => [...corpus[f].refused].sort();
  t.deepEqual(refusedOf('dotenv'), [...unwritable, 'CRLF', 'braced variable', 'braced variable with default', 'both quotes needing quoting', 'carriage return'].sort());
  t.deepEqual(
    refusedOf('docker'),
    [...unwritable, 'CRLF', 'carriage return', 'line feed', 'PEM block', 'newline injection', 'double-quote breakout', 'single-quote breakout', '64 KiB', 'single-wrapped', 'double-wrapped'].sort(),
  );
  // systemd EnvironmentFile= rejects a whole file over a BOM or a noncharacter.
  t.deepEqual(refusedOf('shell'), [...unwritable, 'byte order mark U+FEFF', 'noncharacter U+FFFF'].sort());
  for (const f of ['json', 'yaml'] as const) t.deepEqual(refusedOf(f), [...unwritable].sort(), f);
});

test('the corpus keeps its key cases: CR and ${HOME} refused in dotenv, LF in docker, NUL everywhere', (t) => {
  t.true(corpus.dotenv.refused.includes('carriage return'));
  t.true(corpus.dotenv.refused.includes('braced variable'));
  t.true(corpus.docker.refused.includes('line feed'));
  for (const f of Object.keys(corpus) as CorpusFormat[]) t.true(corpus[f].refused.includes('NUL'), f);
  t.false(corpus.dotenv.refused.includes('PEM block'));
  t.false(corpus.dotenv.refused.includes('trailing backslash'));
});
