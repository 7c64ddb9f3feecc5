// The promise of sets (docs/templates.md "Sets"): a reader that resolves `..data` once sees one generation. A separate
// process reads while this one swaps generations in a loop; each generation's cert and key carry the same counter.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureOutputDirectory, pinOutputDirectory, unpinOutputDirectory } from '../../agent/write/output.js';
import { writeSets } from '../../agent/write/set.js';
import type { SetInput } from '../../agent/write/set.js';
import { tempDir } from './tmp.js';

const GENERATIONS = 300;

/** The reader: resolve `..data` once, read both files through that one generation; also, as a contrast, the visible names one by one. */
const READER = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const [out, stop] = process.argv.slice(1);
const counter = (text) => /^(?:CERT|KEY) (\d+) /.exec(text)?.[1];
const result = { reads: 0, mixed: 0, vanished: 0, counters: new Set(), visibleReads: 0, visibleMixed: 0 };
while (!fs.existsSync(stop)) {
  let generation;
  try { generation = fs.readlinkSync(path.join(out, '..data')); } catch { continue; }
  try {
    const cert = fs.readFileSync(path.join(out, generation, 'tls/cert.pem'), 'utf8');
    const key = fs.readFileSync(path.join(out, generation, 'tls/key.pem'), 'utf8');
    result.reads++;
    result.counters.add(counter(cert));
    if (counter(cert) === undefined || counter(cert) !== counter(key)) result.mixed++;
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    result.vanished++; // the generation was removed after the next swap: resolve ..data again
  }
  try {
    const cert = fs.readFileSync(path.join(out, 'tls/cert.pem'), 'utf8');
    const key = fs.readFileSync(path.join(out, 'tls/key.pem'), 'utf8');
    result.visibleReads++;
    if (counter(cert) !== counter(key)) result.visibleMixed++;
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}
process.stdout.write(JSON.stringify({ ...result, counters: result.counters.size }));
`;

test('a reader that resolves ..data once never sees the cert of one generation with the key of another', async (t) => {
  t.timeout(120_000, 'a busy 2-core machine');
  const dir = await tempDir(t);
  const out = join(dir, 'out');
  await ensureOutputDirectory(out);
  await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  // A few KiB each, so a read is not a single instant.
  const pad = 'x'.repeat(4096);
  const set = (n: number): SetInput => ({
    name: 'tls',
    members: [
      { template: 'cert.pem.hbs', rel: 'tls/cert.pem', file: { content: Buffer.from(`CERT ${n} ${pad}\n`), mode: 0o644 } },
      { template: 'key.pem.hbs', rel: 'tls/key.pem', file: { content: Buffer.from(`KEY ${n} ${pad}\n`), mode: 0o600 } },
    ],
  });
  await writeSets({ output: out, sets: [set(0)] });

  const stop = join(dir, 'stop');
  const reader = spawn(process.execPath, ['-e', READER, out, stop], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => reader.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  reader.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  reader.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close', not 'exit': the reader's JSON on stdout is read by then.
  const exited = new Promise<number | null>((resolve) => reader.once('close', resolve));

  let written = 0;
  for (let n = 1; n <= GENERATIONS; n++) {
    const report = await writeSets({ output: out, sets: [set(n)] });
    if (report.sets.get('tls')?.outcome === 'written') written++;
  }
  await writeFile(stop, '');
  t.is(await exited, 0, stderr);
  const result = JSON.parse(stdout) as { reads: number; mixed: number; vanished: number; counters: number; visibleReads: number; visibleMixed: number };
  t.log(`${written} generations swapped; through ..data resolved once: ${result.reads} reads of ${result.counters} generations, ${result.mixed} mixed, ${result.vanished} retried (generation removed); through the visible names one by one: ${result.visibleReads} reads, ${result.visibleMixed} mixed`);
  t.is(written, GENERATIONS);
  t.true(result.reads > 0 && result.counters > 1, 'the reader saw several generations while they were swapped');
  t.is(result.mixed, 0);
  t.deepEqual((await readdir(out)).filter((name) => name.startsWith('..')).length, 2, '..data and one generation remain');
});
