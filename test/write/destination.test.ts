// Destinations stay inside the output directory and never go through or onto a symlink (docs/templates.md).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSafeTarget, resolveDestination } from '../../agent/write/destination.js';
import { isAgentError } from '../../agent/errors.js';
import { tempDir } from './tmp.js';

/** Why: each refusal must be an AgentError with ERR_DESTINATION whose message names the destination. */
function assertRefused(t: ExecutionContext, fn: () => unknown, name: string): void {
  const error = t.throws(fn);
  t.true(isAgentError(error, 'ERR_DESTINATION'), String(error));
  t.true(error.message.includes(JSON.stringify(name)), error.message);
}

test('a relative destination resolves inside the output directory', (t) => {
  t.is(resolveDestination('/secrets', 'app.env'), '/secrets/app.env');
  t.is(resolveDestination('/secrets/', 'db/pg.json'), '/secrets/db/pg.json');
  t.is(resolveDestination('/secrets', './a/../b.env'), '/secrets/b.env');
});

test('a destination starting with .. is reserved for the sets\' ..data and generations, as in Kubernetes volumes', (t) => {
  for (const name of ['..hidden', '..data', '..data/x', '..2026_12_02_07_15_00.123456789_0a1b2c3d/cert.pem']) assertRefused(t, () => resolveDestination('/secrets', name), name);
  t.is(resolveDestination('/secrets', 'a/..hidden'), '/secrets/a/..hidden', 'only the top level is reserved');
});

test('a destination that climbs out with .. is refused', (t) => {
  assertRefused(t, () => resolveDestination('/secrets', '../x'), '../x');
  assertRefused(t, () => resolveDestination('/secrets', 'a/../../x'), 'a/../../x');
  assertRefused(t, () => resolveDestination('/secrets', '..'), '..');
});

test('an absolute destination such as /etc/passwd is refused', (t) => {
  assertRefused(t, () => resolveDestination('/secrets', '/etc/passwd'), '/etc/passwd');
  assertRefused(t, () => resolveDestination('/secrets', '/secrets/app.env'), '/secrets/app.env');
});

test('an empty name, the output directory itself, a trailing slash and a NUL byte are refused', (t) => {
  assertRefused(t, () => resolveDestination('/secrets', ''), '');
  assertRefused(t, () => resolveDestination('/secrets', '.'), '.');
  assertRefused(t, () => resolveDestination('/secrets', 'a/..'), 'a/..');
  assertRefused(t, () => resolveDestination('/secrets', 'dir/'), 'dir/');
  assertRefused(t, () => resolveDestination('/secrets', 'a\0b'), 'a\0b');
});

test('missing sub-directories of the output directory are created with mode 0700', async (t) => {
  const out = await tempDir(t);
  const target = await assertSafeTarget(out, resolveDestination(out, 'a/b/app.env'));
  t.is(target, join(out, 'a/b/app.env'));
  for (const dir of ['a', 'a/b']) {
    const stats = await lstat(join(out, dir));
    t.true(stats.isDirectory());
    t.is(stats.mode & 0o777, 0o700);
  }
});

test('an existing regular file is an acceptable target', async (t) => {
  const out = await tempDir(t);
  await writeFile(join(out, 'app.env'), 'old');
  t.is(await assertSafeTarget(out, join(out, 'app.env')), join(out, 'app.env'));
});

test('a symlink destination is refused and the symlink target is untouched', async (t) => {
  const out = await tempDir(t);
  const elsewhere = await tempDir(t);
  await writeFile(join(elsewhere, 'victim'), 'precious');
  await symlink(join(elsewhere, 'victim'), join(out, 'app.env'));
  const error = await t.throwsAsync(assertSafeTarget(out, resolveDestination(out, 'app.env')));
  t.true(isAgentError(error, 'ERR_DESTINATION'));
  t.regex(error.message, /app\.env.*symlink/);
  t.is(await readFile(join(elsewhere, 'victim'), 'utf8'), 'precious');
});

test('a dangling symlink destination is refused', async (t) => {
  const out = await tempDir(t);
  const elsewhere = await tempDir(t);
  await symlink(join(elsewhere, 'not-yet'), join(out, 'app.env'));
  const error = await t.throwsAsync(assertSafeTarget(out, join(out, 'app.env')));
  t.true(isAgentError(error, 'ERR_DESTINATION'));
  t.deepEqual(await readdir(elsewhere), []);
});

test('a symlinked sub-directory inside the output directory is refused and nothing is created through it', async (t) => {
  const out = await tempDir(t);
  const elsewhere = await tempDir(t);
  await symlink(elsewhere, join(out, 'sub'));
  const error = await t.throwsAsync(assertSafeTarget(out, resolveDestination(out, 'sub/deeper/app.env')));
  t.true(isAgentError(error, 'ERR_DESTINATION'));
  t.regex(error.message, /sub is a symlink, not a real directory/);
  t.deepEqual(await readdir(elsewhere), []);
});

test('a destination that exists as a directory or whose parent is a file is refused', async (t) => {
  const out = await tempDir(t);
  await mkdir(join(out, 'dir'));
  await writeFile(join(out, 'file'), '');
  const asDir = await t.throwsAsync(assertSafeTarget(out, join(out, 'dir')));
  t.true(isAgentError(asDir, 'ERR_DESTINATION'));
  t.regex(asDir.message, /is a directory, not a regular file/);
  const underFile = await t.throwsAsync(assertSafeTarget(out, join(out, 'file/app.env')));
  t.true(isAgentError(underFile, 'ERR_DESTINATION'));
  t.regex(underFile.message, /is a regular file, not a real directory/);
});

test('an output directory that is itself a symlink is refused and nothing is created through it', async (t) => {
  const real = await tempDir(t);
  const links = await tempDir(t);
  const out = join(links, 'secrets');
  await symlink(real, out);
  const error = await t.throwsAsync(assertSafeTarget(out, resolveDestination(out, 'x/app.env')));
  t.true(isAgentError(error, 'ERR_OUTPUT_DIR'));
  t.is(error.message, `output directory ${out} refused: it is a symlink to ${real}; the agent writes only into a real directory, never through a link: set output to the directory itself`);
  t.deepEqual(await readdir(real), []);
});

test('a destination inside .secrets-agent/, the agent\'s own directory, is refused', (t) => {
  assertRefused(t, () => resolveDestination('/secrets', '.secrets-agent/provenance.json'), '.secrets-agent/provenance.json');
  assertRefused(t, () => resolveDestination('/secrets', './x/../.secrets-agent/write-0123456789abcdef.tmp'), './x/../.secrets-agent/write-0123456789abcdef.tmp');
  t.is(resolveDestination('/secrets', '.secrets-agent.env'), '/secrets/.secrets-agent.env');
  t.is(resolveDestination('/secrets', 'sub/.secrets-agent/x'), '/secrets/sub/.secrets-agent/x');
});

test('a path outside the output directory given to assertSafeTarget is refused', async (t) => {
  const out = await tempDir(t);
  const error = await t.throwsAsync(assertSafeTarget(out, '/etc/passwd'));
  t.true(isAgentError(error, 'ERR_DESTINATION'));
  t.true(error.message.includes('/etc/passwd'));
});
