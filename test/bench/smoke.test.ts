// The benchmark scripts keep working: `bench/run.ts --smoke` runs every case with tiny sizes against the
// emulators and writes its report. Benchmarks are not tests: nothing here looks at a time or a size.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { END_MARKER, START_MARKER, writeReport } from '../../bench/lib/report.js';
import { root } from '../helpers/cli.js';

const ROWS = ['cold-start', 'rss-idle', 'vault-requests', 'aws-calls', 'cycle-time', 'cycle-rss', 'unchanged', 'change-latency', 'idle-cpu', 'fleet-herd', 'rss-flat', 'live-heap', 'references', 'lease-requests'];

test('bench/run.ts --smoke measures every row of the table and writes the report', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'sa-bench-smoke-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'benchmarks.md');
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'bench/run.ts'), '--smoke', '--out', out], { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, out1, err1) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out1, stderr: err1 });
    });
  });
  t.is(code, 0, stderr.slice(-3000));
  const ids = stdout.split('\n').map((line) => line.split(/\s+/)[1]).filter(Boolean);
  t.deepEqual([...ids].sort(), [...ROWS].sort(), stdout);
  const report = await readFile(out, 'utf8');
  t.true(report.includes(START_MARKER) && report.includes(END_MARKER));
  t.regex(report, /\*\*Machine:\*\* \d+ cores/);
  t.regex(report, /Node v\d+/);
  // Smoke mode judges nothing: every verdict is a dash.
  t.false(report.includes('**missed**'));
  t.false(/\| met \|/.test(report));
});

test('a second report keeps the hand-written text around the generated block', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sa-bench-report-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'benchmarks.md');
  await writeReport(file, `${START_MARKER}\nfirst\n${END_MARKER}\n`);
  const edited = (await readFile(file, 'utf8')).replace(START_MARKER, `intro by hand\n\n${START_MARKER}`) + '\n## Analysis by hand\n';
  await writeFile(file, edited);
  await writeReport(file, `${START_MARKER}\nsecond\n${END_MARKER}\n`);
  const text = await readFile(file, 'utf8');
  t.true(text.includes('intro by hand'));
  t.true(text.includes('## Analysis by hand'));
  t.true(text.includes('second'));
  t.false(text.includes('first'));
});
