// The output directory (docs/design.md "The output directory", docs/operations.md "The output directory"): never a
// symlink, pinned by (device, inode), temp files in .secrets-agent/ and the ones a crash left removed at start.
import test from 'ava';
import { lstat, mkdir, readFile, readdir, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAgentError } from '../../agent/errors.js';
import { checkOutputDirectory, ensureOutputDirectory, pinOutputDirectory, unpinOutputDirectory, writeOutputFile } from '../../agent/write/output.js';
import { assertSafeTarget } from '../../agent/write/destination.js';
import { leftoverTempFiles, tempDir } from './tmp.js';

const SECRET = 'API_KEY=s3cr3t-value-that-must-never-leak';

/** Why: a pinned directory for one test, unpinned (its handle closed) when the test ends. */
async function pinned(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; out: string }> {
  const root = await tempDir(t);
  const out = join(root, 'out');
  await ensureOutputDirectory(out);
  await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  return { root, out };
}

test('a missing output directory is created 0700 with its parents; a file or a symlink is refused naming it', async (t) => {
  const root = await tempDir(t);
  await ensureOutputDirectory(join(root, 'a/b/out'));
  t.is((await stat(join(root, 'a/b/out'))).mode & 0o777, 0o700);

  await mkdir(join(root, 'real'));
  await symlink(join(root, 'real'), join(root, 'link'));
  for (const output of [join(root, 'link'), `${join(root, 'link')}/`]) {
    const error = await t.throwsAsync(ensureOutputDirectory(output));
    t.true(isAgentError(error, 'ERR_OUTPUT_DIR'));
    t.is(error.message, `output directory ${join(root, 'link')} refused: it is a symlink to ${join(root, 'real')}; the agent writes only into a real directory, never through a link: set output to the directory itself`);
    const pinError = await t.throwsAsync(pinOutputDirectory(output));
    t.true(isAgentError(pinError, 'ERR_OUTPUT_DIR'), 'the pin opens it with O_NOFOLLOW too');
  }
  await symlink(join(root, 'nowhere'), join(root, 'dangling'));
  t.regex((await t.throwsAsync(ensureOutputDirectory(join(root, 'dangling')))).message, /dangling refused: it is a symlink to .*nowhere/);
  t.deepEqual(await readdir(join(root, 'real')), [], 'nothing was created through the link');
  await writeFile(join(root, 'file'), '');
  t.regex((await t.throwsAsync(ensureOutputDirectory(join(root, 'file')))).message, /file refused: it is a regular file, not a directory$/);
});

test('a write through a symlinked output directory is refused even when nobody pinned it', async (t) => {
  const root = await tempDir(t);
  const elsewhere = await tempDir(t);
  await symlink(elsewhere, join(root, 'out'));
  const out = join(root, 'out');
  const safe = await t.throwsAsync(assertSafeTarget(out, join(out, 'x/app.env')));
  t.true(isAgentError(safe, 'ERR_OUTPUT_DIR'));
  const write = await t.throwsAsync(writeOutputFile(out, { path: join(out, 'app.env'), content: SECRET, mode: 0o600 }));
  t.true(isAgentError(write, 'ERR_OUTPUT_DIR'));
  t.deepEqual(await readdir(elsewhere), []);
});

test('temp files are created in .secrets-agent/ (0700), also for destinations in sub-directories, and none is left', async (t) => {
  const { out } = await pinned(t);
  const path = await assertSafeTarget(out, join(out, 'sub/deeper/app.env'));
  t.is(path, join(out, 'sub/deeper/app.env'));
  t.deepEqual(await writeOutputFile(out, { path, content: SECRET, mode: 0o640 }), { changed: true });
  t.is(await readFile(path, 'utf8'), SECRET);
  t.is((await stat(path)).mode & 0o7777, 0o640);
  t.is((await stat(join(out, '.secrets-agent'))).mode & 0o777, 0o700);
  t.deepEqual(await leftoverTempFiles(out), []);
  t.deepEqual(await writeOutputFile(out, { path, content: SECRET, mode: 0o640 }), { changed: false });

  // Where the temp file goes shows when .secrets-agent/ cannot hold it: the write fails there, naming it.
  await rm(join(out, '.secrets-agent'), { recursive: true });
  await writeFile(join(out, '.secrets-agent'), '');
  const error = await t.throwsAsync(writeOutputFile(out, { path, content: 'NEW=1', mode: 0o640 }));
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.is(error.message, `write ${path}: create temp file failed: ${join(out, '.secrets-agent')} cannot be used for temp files: it is a symlink or a file, not a directory`);
  t.is(await readFile(path, 'utf8'), SECRET);
  t.deepEqual(await readdir(join(out, 'sub/deeper')), ['app.env']);
});

test('a destination inside .secrets-agent/ or outside the output directory is refused by the writer', async (t) => {
  const { out } = await pinned(t);
  const outside = await t.throwsAsync(writeOutputFile(out, { path: join(out, '../escaped.env'), content: SECRET, mode: 0o600 }));
  t.true(isAgentError(outside, 'ERR_DESTINATION'));
  await t.throwsAsync(stat(join(out, '../escaped.env')));
  const own = await t.throwsAsync(writeOutputFile(out, { path: join(out, '.secrets-agent/provenance.json'), content: SECRET, mode: 0o600 }));
  t.true(isAgentError(own, 'ERR_DESTINATION'));
  t.is(own.message, `destination ${join(out, '.secrets-agent/provenance.json')} refused: it is inside ${join(out, '.secrets-agent')}, the agent's own directory`);
  t.deepEqual(await readdir(join(out, '.secrets-agent')), []);
});

test('an output directory replaced by another directory or by a symlink is refused, and nothing is written anywhere', async (t) => {
  const { root, out } = await pinned(t);
  await writeOutputFile(out, { path: join(out, 'app.env'), content: 'OLD=1', mode: 0o600 });
  const elsewhere = await tempDir(t);

  await rename(out, join(root, 'moved'));
  await symlink(elsewhere, out);
  for (const attempt of [() => checkOutputDirectory(out), () => assertSafeTarget(out, join(out, 'app.env')), () => writeOutputFile(out, { path: join(out, 'app.env'), content: SECRET, mode: 0o600 }), () => pinOutputDirectory(out)]) {
    const error = await t.throwsAsync(attempt());
    t.true(isAgentError(error, 'ERR_OUTPUT_DIR'));
    t.is(error.message, `output directory ${out} refused: it is no longer the directory the agent started with (now a symlink to ${elsewhere}); nothing is written until the agent is restarted`);
  }
  t.deepEqual(await readdir(elsewhere), []);
  t.is(await readFile(join(root, 'moved/app.env'), 'utf8'), 'OLD=1');

  await unlink(out);
  await mkdir(out);
  const replaced = await t.throwsAsync(writeOutputFile(out, { path: join(out, 'app.env'), content: SECRET, mode: 0o600 }));
  t.true(isAgentError(replaced, 'ERR_OUTPUT_DIR'));
  t.regex(replaced.message, /refused: it is no longer the directory the agent started with \(now another directory, device:inode \d+:\d+\); nothing is written until the agent is restarted$/);
  t.deepEqual(await readdir(out), []);
  const reload = await t.throwsAsync(pinOutputDirectory(out));
  t.true(isAgentError(reload, 'ERR_OUTPUT_DIR'), 'a reload keeps the pin of an unchanged output path');
});

test('a directory swapped for a symlink while writes run never receives a file (checks, then writes through the pinned handle)', async (t) => {
  const { root, out } = await pinned(t);
  const elsewhere = await tempDir(t);
  const state = { swapping: true, swaps: 0 };
  const swapper = (async () => {
    while (state.swapping) {
      await rename(out, join(root, 'moved'));
      await symlink(elsewhere, out);
      await new Promise((resolve) => setImmediate(resolve));
      await unlink(out);
      await rename(join(root, 'moved'), out);
      state.swaps++;
    }
  })();
  let written = 0;
  let refused = 0;
  try {
    for (let i = 0; i < 400; i++) {
      try {
        await writeOutputFile(out, { path: join(out, 'app.env'), content: `${SECRET}-${i}`, mode: 0o600 });
        written++;
      } catch (error) {
        if (!isAgentError(error, 'ERR_OUTPUT_DIR', 'ERR_WRITE')) throw error;
        refused++;
      }
    }
  } finally {
    state.swapping = false;
    await swapper;
  }
  t.log(`${written} writes, ${refused} refused, ${state.swaps} swaps`);
  t.deepEqual(await readdir(elsewhere), [], 'the other directory never received a file or a temp file');
  t.true((await lstat(out)).isDirectory());
  t.deepEqual(await leftoverTempFiles(out), []);
});

test('the first pin removes the temp files a killed process left, in .secrets-agent/ and of the old layout, and nothing else', async (t) => {
  const root = await tempDir(t);
  const out = join(root, 'out');
  const elsewhere = await tempDir(t);
  const hex = '0123456789abcdef';
  const leftovers = [
    `.secrets-agent/write-${hex}.tmp`,
    `.secrets-agent/.provenance.json.${hex}.tmp`,
    `.app.env.${hex}.tmp`,
    `.config.json.fedcba9876543210.tmp`,
    `sub/.db.json.${hex}.tmp`,
    `sub/deeper/.a b.c.${hex}.tmp`,
  ];
  const kept = [
    '.secrets-agent/provenance.json',
    '.secrets-agent/write-0123.tmp',
    `.secrets-agent/write-${hex}.tmp.bak`,
    'app.env',
    `write-${hex}.tmp`, // the new shape outside .secrets-agent/ is not ours
    '.app.env.tmp',
    `app.env.${hex}.tmp`, // no leading dot
    `.app.env.${hex.toUpperCase()}.tmp`,
    `.app.env.${hex.slice(1)}.tmp`,
    `..${hex}.tmp`, // an empty name: never produced
    `.${'n'.repeat(201)}.${hex}.tmp`, // longer than the old writer's 200-byte cut
    'sub/db.json',
  ];
  for (const name of [...leftovers, ...kept]) {
    await mkdir(join(out, name, '..'), { recursive: true });
    await writeFile(join(out, name), 'x');
  }
  await mkdir(join(out, `.dir.${hex}.tmp`));
  await writeFile(join(elsewhere, `.victim.${hex}.tmp`), 'keep');
  await symlink(join(elsewhere, `.victim.${hex}.tmp`), join(out, `.link.${hex}.tmp`));
  await symlink(elsewhere, join(out, 'linked-dir'));

  await ensureOutputDirectory(out);
  const first = await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  t.deepEqual(first.removed, [...leftovers].sort());
  t.deepEqual(first.failed, []);
  for (const name of kept) t.is(await readFile(join(out, name), 'utf8'), 'x', name);
  t.true((await lstat(join(out, `.dir.${hex}.tmp`))).isDirectory());
  t.true((await lstat(join(out, `.link.${hex}.tmp`))).isSymbolicLink());
  t.deepEqual(await readdir(elsewhere), [`.victim.${hex}.tmp`], 'nothing is removed through a symlink');

  // A reload pins the same path again: a write of this process may be in flight, its temp file stays.
  await writeFile(join(out, `.secrets-agent/write-${hex}.tmp`), 'in flight');
  t.deepEqual((await pinOutputDirectory(out)).removed, []);
  t.is(await readFile(join(out, `.secrets-agent/write-${hex}.tmp`), 'utf8'), 'in flight');
});
