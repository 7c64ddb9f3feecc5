// A set that cannot fit (docs/operations.md "The output directory"): on a real 512 KiB tmpfs, a generation that runs
// out of space is removed at once — the space is free again, no half generation and no temp link is left — and the
// current generation keeps serving. Needs root to mount the tmpfs (CI runs as root).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAgentError } from '../../agent/errors.js';
import { pinOutputDirectory, unpinOutputDirectory, writeOutputFile } from '../../agent/write/output.js';
import { writeSets } from '../../agent/write/set.js';
import type { SetInput } from '../../agent/write/set.js';
import { needing } from '../helpers/cli.js';
import { mountProblem } from './tmpfs.js';
import { tempFiles } from './writer-agent.js';

const run = promisify(execFile);

const set = (n: number, size: number): SetInput => ({
  name: 'tls',
  members: [
    { template: 'cert.pem.hbs', rel: 'cert.pem', file: { content: Buffer.from(`CERT ${n} ${'c'.repeat(size)}\n`), mode: 0o644 } },
    { template: 'key.pem.hbs', rel: 'key.pem', file: { content: Buffer.from(`KEY ${n} ${'k'.repeat(size)}\n`), mode: 0o600 } },
  ],
});

needing(await mountProblem())('on a 512 KiB tmpfs a generation that does not fit is removed at once and the current one keeps serving', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sa-sets-enospc-'));
  const out = join(dir, 'out');
  await mkdir(out, { mode: 0o700 });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', out]);
  t.teardown(async () => {
    await unpinOutputDirectory(out);
    await run('umount', [out]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await pinOutputDirectory(out);
  t.is((await writeSets({ output: out, sets: [set(1, 100 * 1024)] })).sets.get('tls')?.outcome, 'written');
  const generation = await readlink(join(out, '..data'));
  const free = (await statfs(out)).bfree;

  const report = await writeSets({ output: out, sets: [set(2, 300 * 1024)] });
  const failed = report.sets.get('tls');
  t.true(failed?.outcome === 'failed' && isAgentError(failed.error, 'ERR_WRITE'), JSON.stringify(failed));
  t.regex(failed?.outcome === 'failed' ? failed.error.message : '', /^write .*\/out\/\.\.\d{4}_.*\/(cert|key)\.pem: write failed: ENOSPC$/);
  t.false((failed?.outcome === 'failed' ? failed.error.message : '').includes('kkkk'), 'no content in the message');
  t.is(await readlink(join(out, '..data')), generation);
  t.deepEqual((await readdir(out)).filter((name) => name.startsWith('..')).sort(), ['..data', generation].sort(), 'the half generation is gone');
  t.is((await statfs(out)).bfree, free, 'its space is free again');
  t.deepEqual(await tempFiles(out), []);
  t.true((await readFile(join(out, 'key.pem'), 'utf8')).startsWith('KEY 1 '));
  // The space is there for the next write: a plain file of the same cycle is written.
  await writeOutputFile(out, { path: join(out, 'app.env'), content: 'A=1\n', mode: 0o600 });
  t.is(await readFile(join(out, 'app.env'), 'utf8'), 'A=1\n');
});
