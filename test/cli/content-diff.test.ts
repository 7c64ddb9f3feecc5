// What `check --diff` reports for each format: names of keys, key paths or lines; never a value.
import test from 'ava';
import { diffContent, lineChanges } from '../../agent/ops/content-diff.js';

const show = (diff: ReturnType<typeof diffContent>): string[] => diff.changes.map((change) => `${change.kind} ${change.name}`);

test('dotenv, shell and docker files are compared by key, in the order of the new file, then the removed keys', (t) => {
  const before = "A='1'\nB='secret-old'\nC='3'\n";
  const after = "# a comment\nB='secret-new'\nA='1'\nD='4'\n";
  t.deepEqual(show(diffContent('dotenv', before, after)), ['changed B', 'added D', 'removed C']);
  t.deepEqual(show(diffContent('shell', "X='a b'\n", "X='a c'\n")), ['changed X']);
  t.deepEqual(show(diffContent('docker', 'X=a b\n', 'X=a b\nY=1\n')), ['added Y']);
});

test('only comments or formatting changing is said so, and identical text is no change at all', (t) => {
  t.deepEqual(diffContent('dotenv', "A='1'\n", "# new comment\nA='1'\n"), { changes: [], note: 'only comments or formatting change' });
  t.deepEqual(diffContent('json', '{"a": 1}', '{\n  "a": 1\n}\n'), { changes: [], note: 'only comments or formatting change' });
  t.deepEqual(diffContent('raw', 'x\n', 'x\n'), { changes: [] });
});

test('JSON and YAML are compared by flattened key paths, and a type change counts as a change', (t) => {
  const before = JSON.stringify({ db: { port: 5432, hosts: ['a', 'b'], 'dotted.key': 'x' }, gone: true });
  const after = JSON.stringify({ db: { port: '5432', hosts: ['a', 'c', 'd'], 'dotted.key': 'x' }, extra: {} });
  t.deepEqual(show(diffContent('json', before, after)), ['changed db.port', 'changed db.hosts[1]', 'added db.hosts[2]', 'added extra', 'removed gone']);
  t.deepEqual(show(diffContent('yaml', 'a:\n  b: 1\n', 'a:\n  b: 2\n  c: x\n')), ['changed a.b', 'added a.c']);
  t.deepEqual(show(diffContent('json', '{}', '{"we ird": {"k": 1}}')), ['added ["we ird"].k', 'removed (document)']);
});

test('a new file lists every key as added, or its lines as one range', (t) => {
  t.deepEqual(diffContent('dotenv', undefined, "A='1'\nB='2'\n"), { changes: [{ kind: 'added', name: 'A' }, { kind: 'added', name: 'B' }], note: 'new file' });
  t.deepEqual(diffContent('raw', undefined, 'l1\nl2\nl3\n'), { changes: [{ kind: 'added', name: 'lines 1-3' }], note: 'new file' });
});

test('raw files are compared by lines: an inserted line is one addition, not a shift of everything after it', (t) => {
  t.deepEqual(lineChanges('a\nb\nc\nd\n', 'a\nNEW\nb\nc\nd\n'), [{ kind: 'added', name: 'line 2' }]);
  t.deepEqual(lineChanges('a\nb\nc\nd\n', 'a\nB\nC\nd\n'), [{ kind: 'changed', name: 'lines 2-3' }]);
  t.deepEqual(lineChanges('a\nb\nc\n', 'a\nc\n'), [{ kind: 'removed', name: 'line 2' }]);
  t.deepEqual(lineChanges('a\nb\n', 'a\nX\nY\nZ\n'), [{ kind: 'changed', name: 'line 2' }, { kind: 'added', name: 'lines 3-4' }]);
});

test('a current file that no longer parses in its format is compared line by line, and said so', (t) => {
  t.deepEqual(diffContent('json', '{ broken', '{"a": 1}\n'), { changes: [{ kind: 'changed', name: 'line 1' }], note: 'the current file does not parse as json; compared line by line' });
  t.is(diffContent('dotenv', 'A=x#y\n', "A='1'\n").note, 'the current file does not parse as dotenv; compared line by line');
});

test('no diff ever carries a value', (t) => {
  const secret = 'VALUE-that-must-not-appear';
  const diffs = [
    diffContent('dotenv', `A='${secret}'\n`, "A='other'\n"),
    diffContent('json', JSON.stringify({ a: secret }), JSON.stringify({ a: 'x', k: secret })),
    diffContent('raw', `${secret}\n`, 'x\n'),
  ];
  t.false(JSON.stringify(diffs).includes(secret));
});

test('very long files still get a line-by-line answer without an exact LCS', (t) => {
  const lines = Array.from({ length: 6000 }, (_, i) => `line ${i}`);
  const after = lines.map((line, i) => (i === 10 || i === 5000 ? 'changed' : line));
  t.deepEqual(lineChanges(lines.join('\n'), after.join('\n')), [{ kind: 'changed', name: 'line 11' }, { kind: 'changed', name: 'line 5001' }]);
});
