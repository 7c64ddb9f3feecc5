// Atomic writes (docs/design.md "The output directory"): exact mode, rewritten only on change, never torn, no temp file left behind.
import test from 'ava';
import type { Implementation } from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isLegacyTempName, isTempName, writeFileAtomic } from '../../agent/write/atomic.js';
import { AgentError, isAgentError } from '../../agent/errors.js';
import { needing } from '../helpers/cli.js';
import { leftoverTempFiles, tempDir } from './tmp.js';

const SECRET = 'API_KEY=s3cr3t-value-that-must-never-leak';
const run = promisify(execFile);

/** Why: `chattr +i` needs the binary, CAP_LINUX_IMMUTABLE and a filesystem that supports it; probed once. */
async function chattrProblem(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'secrets-agent-chattr-'));
  try {
    await writeFile(join(dir, 'probe'), '');
    await run('chattr', ['+i', join(dir, 'probe')]);
    await run('chattr', ['-i', join(dir, 'probe')]);
    return undefined;
  } catch (error) {
    return `chattr +i is not available here (${(error as Error).message.split('\n')[0] ?? 'unknown'})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why: a small tmpfs is the only honest ENOSPC; mounting one needs root (CI runs as root). Probed once. */
async function tmpfsProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs';
  const dir = await mkdtemp(join(tmpdir(), 'secrets-agent-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    await run('umount', [dir]);
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed (${(error as Error).message.split('\n')[0] ?? 'unknown'})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const notRoot = process.getuid?.() === 0 ? undefined : 'not root: chown to another uid is not permitted';
const noChattr = await chattrProblem();
const noTmpfs = await tmpfsProblem();

/** A tmpfs cannot be had in every container, CI included: such a run reports the test skipped with the reason. */
function withTmpfs(title: string, fn: Implementation<[]>): void {
  if (noTmpfs === undefined) test(title, fn);
  else test.skip(`${title} [skipped: ${noTmpfs}]`, fn);
}

/** A 1 MiB tmpfs for one test, unmounted when it ends. */
async function smallVolume(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  t.teardown(() => run('umount', [dir]));
  return dir;
}

for (const umask of [0o000, 0o022, 0o077, 0o777]) {
  test.serial(`a created file has exactly mode 0600, or a requested 0640, under umask ${umask.toString(8).padStart(3, '0')}`, async (t) => {
    const dir = await tempDir(t);
    const previous = process.umask(umask);
    try {
      await writeFileAtomic({ path: join(dir, 'a.env'), content: SECRET, mode: 0o600 });
      await writeFileAtomic({ path: join(dir, 'b.env'), content: SECRET, mode: 0o640 });
    } finally {
      process.umask(previous);
    }
    t.is((await stat(join(dir, 'a.env'))).mode & 0o7777, 0o600);
    t.is((await stat(join(dir, 'b.env'))).mode & 0o7777, 0o640);
    t.is(await readFile(join(dir, 'a.env'), 'utf8'), SECRET);
  });
}

test('unchanged content, mode and owner report changed false and leave mtime and inode alone', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o600 }), { changed: true });
  const before = await stat(path);
  t.deepEqual(await writeFileAtomic({ path, content: Buffer.from(SECRET), mode: 0o600 }), { changed: false });
  const after = await stat(path);
  t.is(after.ino, before.ino);
  t.is(after.mtimeMs, before.mtimeMs);
  t.is(after.ctimeMs, before.ctimeMs);
});

test('changed content is renamed into place as a new inode that fully replaces the old content', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: 'x'.repeat(10_000), mode: 0o600 });
  const before = await stat(path);
  t.deepEqual(await writeFileAtomic({ path, content: 'short', mode: 0o600 }), { changed: true });
  const after = await stat(path);
  t.not(after.ino, before.ino);
  t.is(await readFile(path, 'utf8'), 'short');
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('a mode-only change rewrites the file with the new mode', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: SECRET, mode: 0o600 });
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640 }), { changed: true });
  t.is((await stat(path)).mode & 0o7777, 0o640);
});

needing(notRoot)('uid and gid are applied, and an owner change alone counts as a change', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: SECRET, mode: 0o640 });
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640, uid: 1234, gid: 1234 }), { changed: true });
  const owned = await stat(path);
  t.is(owned.uid, 1234);
  t.is(owned.gid, 1234);
  t.is(owned.mode & 0o7777, 0o640);
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640, uid: 1234, gid: 1234 }), { changed: false });
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640, uid: 4321 }), { changed: true });
  const regrouped = await stat(path);
  t.is(regrouped.uid, 4321);
  t.is(regrouped.gid, 0, 'gid not given: the temp file keeps the creating process group');
});

test('a failed rename onto a non-empty directory is ERR_WRITE naming path and operation, leaves no temp file and no secret in the message', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await mkdir(path);
  await writeFile(join(path, 'inside'), 'keep');
  const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600 }));
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.is(error.message, `write ${path}: rename failed: EISDIR`);
  t.false(JSON.stringify({ message: error.message, details: isAgentError(error) ? error.details : {} }).includes('s3cr3t'));
  t.truthy(error.cause);
  t.deepEqual(await leftoverTempFiles(dir), []);
  t.deepEqual(await readdir(path), ['inside']);
  t.is(await readFile(join(path, 'inside'), 'utf8'), 'keep');
});

needing(noChattr)('a failed rename over an immutable file leaves the previous file untouched and no temp file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: 'OLD=1', mode: 0o600 });
  await run('chattr', ['+i', path]);
  try {
    const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600 }));
    t.true(isAgentError(error, 'ERR_WRITE'));
    t.regex(error.message, /: rename failed: EPERM$/);
  } finally {
    await run('chattr', ['-i', path]);
  }
  t.is(await readFile(path, 'utf8'), 'OLD=1');
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('a write into a missing directory fails with ERR_WRITE and creates nothing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'missing', 'app.env');
  const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600 }));
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.is(error.message, `write ${path}: create temp file failed: ENOENT`);
  t.deepEqual(await readdir(dir), []);
});

test('an invalid mode, uid or gid is refused before any file is created', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  for (const bad of [{ mode: 0o10000 }, { mode: 0o600, uid: -1 }, { mode: 0o600, gid: 1.5 }]) {
    const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, ...bad }));
    t.true(isAgentError(error, 'ERR_WRITE'));
  }
  t.deepEqual(await readdir(dir), []);
});

test('a destination name near NAME_MAX is still written (the temp name does not grow with it)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, `${'n'.repeat(250)}.env`);
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o600 }), { changed: true });
  t.is(await readFile(path, 'utf8'), SECRET);
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('a concurrent reader only ever sees one of the two complete contents', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'big.txt');
  const size = 1024 * 1024;
  const a = Buffer.alloc(size, 'a');
  const b = Buffer.alloc(size, 'b');
  await writeFileAtomic({ path, content: a, mode: 0o600 });
  const state = { writing: true };
  let reads = 0;
  let torn = 0;
  const seen = new Set<string>();
  const reader = (async () => {
    while (state.writing && reads < 20_000) {
      const bytes = await readFile(path);
      reads += 1;
      if (bytes.equals(a)) seen.add('a');
      else if (bytes.equals(b)) seen.add('b');
      else torn += 1;
    }
  })();
  try {
    for (let i = 1; i <= 40; i += 1) {
      t.deepEqual(await writeFileAtomic({ path, content: i % 2 === 1 ? b : a, mode: 0o600 }), { changed: true });
    }
  } finally {
    state.writing = false;
    await reader;
  }
  t.log(`${reads} reads, saw ${[...seen].join(' and ')}`);
  t.true(reads > 0);
  t.is(torn, 0);
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('the temp file is created in tempDir with a recognizable name, never beside the destination', async (t) => {
  const dir = await tempDir(t);
  const temps = join(dir, '.secrets-agent');
  await mkdir(join(dir, 'sub'));
  await mkdir(temps);
  const path = join(dir, 'sub', 'app.env');
  const seen: { temps: string[]; beside: string[] } = { temps: [], beside: [] };
  const result = await writeFileAtomic({
    path,
    content: SECRET,
    mode: 0o600,
    tempDir: temps,
    beforeRename: async () => {
      seen.temps = await readdir(temps);
      seen.beside = await readdir(join(dir, 'sub'));
    },
  });
  t.deepEqual(result, { changed: true });
  t.is(seen.temps.length, 1);
  t.regex(seen.temps[0] ?? '', /^write-[0-9a-f]{16}\.tmp$/);
  t.true(isTempName(seen.temps[0] ?? ''));
  t.deepEqual(seen.beside, []);
  t.deepEqual(await readdir(temps), []);
  t.is(await readFile(path, 'utf8'), SECRET);
});

test('a refusal right before the rename leaves the destination untouched, removes the temp file and is reported as is', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: 'OLD=1', mode: 0o600 });
  const refusal = new AgentError('ERR_OUTPUT_DIR', 'output directory x refused: test');
  const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600, displayPath: '/shown/app.env', beforeRename: () => Promise.reject(refusal) }));
  t.is(error, refusal);
  t.is(await readFile(path, 'utf8'), 'OLD=1');
  t.deepEqual(await readdir(dir), ['app.env']);
  const failure = await t.throwsAsync(writeFileAtomic({ path: join(dir, 'missing/app.env'), content: SECRET, mode: 0o600, displayPath: '/shown/app.env' }));
  t.is(failure.message, 'write /shown/app.env: create temp file failed: ENOENT', 'errors name the display path');
});

test('the temp names of this version and of earlier versions are told apart from any other name', (t) => {
  t.true(isTempName('write-0123456789abcdef.tmp'));
  for (const name of ['write-0123456789ABCDEF.tmp', 'write-0123456789abcde.tmp', 'xwrite-0123456789abcdef.tmp', 'write-0123456789abcdef.tmp.1']) t.false(isTempName(name), name);
  for (const name of ['.app.env.0123456789abcdef.tmp', '.a.b c\nd.0123456789abcdef.tmp', `.${'é'.repeat(100)}.0123456789abcdef.tmp`]) t.true(isLegacyTempName(name), name);
  for (const name of ['app.env.0123456789abcdef.tmp', '..0123456789abcdef.tmp', '.app.env.0123456789abcdeg.tmp', `.${'é'.repeat(101)}.0123456789abcdef.tmp`, '.app.env.0123456789abcdef.tmpx']) t.false(isLegacyTempName(name), name);
});

withTmpfs('a file that can never fit fails at once with ENOSPC, writes no byte, and a small file beside it is written', async (t) => {
  const dir = await smallVolume(t);
  const free = async (): Promise<number> => {
    const stats = await statfs(dir);
    return stats.bfree * stats.bsize;
  };
  const before = await free();
  const big = join(dir, 'big.json');
  const [huge, small] = await Promise.allSettled([
    writeFileAtomic({ path: big, content: Buffer.alloc(2 * 1024 * 1024, 'x'), mode: 0o600 }),
    writeFileAtomic({ path: join(dir, 'small.env'), content: SECRET, mode: 0o600 }),
  ]);
  t.is(small.status, 'fulfilled');
  t.is(huge.status, 'rejected');
  const error = huge.status === 'rejected' ? (huge.reason as Error) : new Error('written');
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.regex(error.message, new RegExp(`^write ${big}: free space check failed: ENOSPC \\(2097152 bytes do not fit in the \\d+ bytes free; nothing was written\\)$`));
  t.is(await free(), before - 4096, 'only the small file takes space');
  t.deepEqual((await readdir(dir)).sort(), ['small.env']);
});

withTmpfs('writes that fit alone but not together: the first is written, the next waits for it and then fails at once', async (t) => {
  const dir = await smallVolume(t);
  const content = Buffer.alloc(700 * 1024, 'y');
  const results = await Promise.allSettled(['a.json', 'b.json'].map((name) => writeFileAtomic({ path: join(dir, name), content, mode: 0o600 })));
  const failures = results.flatMap((result, index) => (result.status === 'rejected' ? [{ index, message: String(result.reason) }] : []));
  t.is(failures.length, 1, 'whichever reserves first is written');
  const failed = failures[0]?.index === 0 ? 'a.json' : 'b.json';
  t.regex(failures[0]?.message ?? '', new RegExp(`${failed.replace('.', '\\.')}: free space check failed: ENOSPC`));
  t.deepEqual(await leftoverTempFiles(dir), []);
  t.deepEqual(await readdir(dir), [failed === 'a.json' ? 'b.json' : 'a.json']);
  t.deepEqual(await writeFileAtomic({ path: join(dir, 'small.env'), content: SECRET, mode: 0o600 }), { changed: true });
});
