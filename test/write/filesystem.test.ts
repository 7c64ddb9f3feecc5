// The output directory's filesystem: memory-backed (tmpfs/ramfs) or a warning, or a refusal with requireTmpfs.
import test from 'ava';
import { access, readFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { assertOutputFilesystem, checkOutputFilesystem, describeFilesystem } from '../../agent/write/filesystem.js';
import { isAgentError } from '../../agent/errors.js';
import { needing } from '../helpers/cli.js';

/** Why: an independent oracle — the fstype /proc/self/mountinfo gives for the mount holding `dir` (Linux only). */
async function mountType(dir: string): Promise<string | undefined> {
  let info: string;
  try {
    info = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const real = await realpath(dir);
  let best: { point: string; type: string } | undefined;
  for (const line of info.split('\n')) {
    const [left, right] = line.split(' - ');
    const point = left?.split(' ')[4]?.replace(/\\040/g, ' ');
    const type = right?.split(' ')[0];
    if (point === undefined || type === undefined) continue;
    const inside = real === point || real.startsWith(point === '/' ? '/' : `${point}/`);
    if (inside && (best === undefined || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/** Why: finds a disk-backed directory to test the refusal on, or undefined when every candidate is tmpfs. */
async function diskBackedDir(): Promise<string | undefined> {
  for (const dir of [tmpdir(), process.cwd(), '/']) {
    if (!(await checkOutputFilesystem(dir)).memory) return dir;
  }
  return undefined;
}

const noShm = await access('/dev/shm').then(() => undefined, () => '/dev/shm does not exist here');
const diskDir = await diskBackedDir();
const noDiskDir = diskDir === undefined ? 'every candidate directory (os.tmpdir(), the working directory, /) is memory-backed' : undefined;

test('magic numbers map to filesystem names, with tmpfs and ramfs as memory', (t) => {
  t.deepEqual(describeFilesystem(0x01021994), { type: 'tmpfs', memory: true });
  t.deepEqual(describeFilesystem(0x858458f6), { type: 'ramfs', memory: true });
  t.deepEqual(describeFilesystem(0x858458f6 | 0), { type: 'ramfs', memory: true }, 'sign-extended f_type');
  t.deepEqual(describeFilesystem(0x858458f6n), { type: 'ramfs', memory: true });
  t.deepEqual(describeFilesystem(0xef53), { type: 'ext4', memory: false });
  t.deepEqual(describeFilesystem(0x794c7630), { type: 'overlayfs', memory: false });
  t.deepEqual(describeFilesystem(0x58465342), { type: 'xfs', memory: false });
  t.deepEqual(describeFilesystem(0x9123683e), { type: 'btrfs', memory: false });
  t.deepEqual(describeFilesystem(0x6969), { type: 'nfs', memory: false });
  t.deepEqual(describeFilesystem(0x12345678), { type: '0x12345678', memory: false });
});

test('the check on os.tmpdir() agrees with /proc/self/mountinfo about being memory-backed', async (t) => {
  const dir = tmpdir();
  const info = await checkOutputFilesystem(dir);
  const expected = await mountType(dir);
  t.log(`${dir}: statfs says ${info.type}, mountinfo says ${expected ?? 'unknown'}`);
  if (expected !== undefined) t.is(info.memory, expected === 'tmpfs' || expected === 'ramfs');
  t.is(info.memory, info.type === 'tmpfs' || info.type === 'ramfs');
});

needing(noShm)('/dev/shm is tmpfs and memory-backed', async (t) => {
  t.deepEqual(await checkOutputFilesystem('/dev/shm'), { type: 'tmpfs', memory: true });
  t.deepEqual(await assertOutputFilesystem('/dev/shm', true), {});
});

needing(noDiskDir)('a disk-backed output directory gives a warning naming the directory and filesystem', async (t) => {
  const dir = diskDir ?? '';
  const { type } = await checkOutputFilesystem(dir);
  const { warning } = await assertOutputFilesystem(dir, false);
  t.is(
    warning,
    `output directory ${dir} is on ${type}, not tmpfs/ramfs: secrets are stored on disk; ` +
      'mount a tmpfs (Kubernetes emptyDir medium: Memory) or set requireTmpfs',
  );
});

needing(noDiskDir)('requireTmpfs throws ERR_OUTPUT_NOT_TMPFS on a disk-backed directory', async (t) => {
  const dir = diskDir ?? '';
  const error = await t.throwsAsync(assertOutputFilesystem(dir, true));
  t.true(isAgentError(error, 'ERR_OUTPUT_NOT_TMPFS'));
  t.true(error.message.startsWith(`output directory ${dir} is on `));
  t.regex(error.message, /emptyDir medium: Memory/);
});

test('a missing output directory is ERR_WRITE naming the statfs failure', async (t) => {
  const error = await t.throwsAsync(checkOutputFilesystem('/nonexistent/secrets-agent-output'));
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.is(error.message, 'output directory /nonexistent/secrets-agent-output: statfs failed: ENOENT');
});
