// The signal notifier against real processes (a shell script trapping SIGHUP) and against a fake /proc tree.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAgentError } from '../../agent/errors.js';
import { findProcesses, processNames, readPidFile, sendSignal, topmost } from '../../agent/notify/signal.js';
import { startApp, tempDir, uniqueName, waitFor } from './helpers.js';

test('a pidFile notifier sends the signal to the process whose pid the file holds, and it records one SIGHUP', async (t) => {
  const dir = await tempDir(t);
  const app = await startApp(t, dir, uniqueName());
  const pidFile = join(dir, 'app.pid');
  await writeFile(pidFile, `${app.pid}\n`);
  t.deepEqual(await sendSignal({ signal: 'SIGHUP', pidFile }), { pids: [app.pid] });
  t.is(await waitFor('the SIGHUP to be recorded', async () => ((await app.hups()) > 0 ? app.hups() : undefined)), 1);
});

for (const content of ['', 'abc', '0', '-5', '12 13', '1.5', '4194305', '0x10']) {
  test(`a pidFile holding ${JSON.stringify(content)} is refused with ERR_NOTIFY naming the file`, async (t) => {
    const pidFile = join(await tempDir(t), 'app.pid');
    await writeFile(pidFile, content);
    const error = await t.throwsAsync(readPidFile(pidFile));
    t.true(isAgentError(error, 'ERR_NOTIFY'));
    t.regex(error.message, /does not hold a process id/);
    t.true(error.message.includes(pidFile));
  });
}

test('a missing pidFile is ERR_NOTIFY naming the file and the errno code', async (t) => {
  const pidFile = join(await tempDir(t), 'missing.pid');
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGHUP', pidFile }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `cannot read pidFile ${pidFile}: ENOENT`);
});

test('a pidFile holding the agent\'s own pid (a stale file whose pid the agent now has) is ERR_NOTIFY and signals nobody', async (t) => {
  const pidFile = join(await tempDir(t), 'app.pid');
  await writeFile(pidFile, '4242\n');
  const sent: number[] = [];
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGHUP', pidFile }, { selfPid: 4242, kill: (pid) => { sent.push(pid); } }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `pidFile ${pidFile} holds the agent's own pid 4242 (a stale file?); not signalled`);
  t.deepEqual(sent, []);
});

test('a pidFile that is a FIFO (a writable volume the application controls) is ERR_NOTIFY at once, not a read that never ends', async (t) => {
  const pidFile = join(await tempDir(t), 'app.pid');
  execFileSync('mkfifo', [pidFile]);
  // A read blocked on the FIFO would hold one of libuv's 4 threads forever: a writer is opened when the test ends.
  t.teardown(async () => { await open(pidFile, constants.O_WRONLY | constants.O_NONBLOCK).then((handle) => handle.close(), () => undefined); });
  const limit = new Promise<'hung'>((resolve) => { setTimeout(() => { resolve('hung'); }, 10_000).unref(); });
  const outcome = await Promise.race([sendSignal({ signal: 'SIGHUP', pidFile }, { kill: () => { throw new Error('no signal expected'); } }).then(() => 'sent', (error: unknown) => error), limit]);
  t.true(isAgentError(outcome, 'ERR_NOTIFY'), String(outcome));
  t.is(isAgentError(outcome) ? outcome.message : '', `pidFile ${pidFile} is not a regular file`);
});

test('a pidFile naming a pid no process has is ERR_NOTIFY saying so', async (t) => {
  const pidFile = join(await tempDir(t), 'stale.pid');
  const pidMax = Number((await readFile('/proc/sys/kernel/pid_max', 'utf8')).trim());
  await writeFile(pidFile, String(Math.min(pidMax, 4_194_304)));
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGHUP', pidFile }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.regex(error.message, /no process \d+ is running/);
});

test('a process notifier signals the one real process of that name', async (t) => {
  const dir = await tempDir(t);
  const name = uniqueName();
  const app = await startApp(t, dir, name);
  t.deepEqual(await sendSignal({ signal: 'SIGHUP', process: name, all: false }), { pids: [app.pid] });
  t.is(await waitFor('the SIGHUP to be recorded', async () => ((await app.hups()) > 0 ? app.hups() : undefined)), 1);
});

test('a process notifier with no process of that name is ERR_NOTIFY pointing at the shared PID namespace', async (t) => {
  const name = uniqueName();
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGHUP', process: name, all: false }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.true(error.message.startsWith(`no process named "${name}" is running (is the PID namespace shared?`));
  t.regex(error.message, /shareProcessNamespace/);
  t.regex(error.message, /pid: "service:/);
});

test('a process notifier matching several unrelated real processes is ERR_NOTIFY listing their pids, and signals none', async (t) => {
  const dir = await tempDir(t);
  const name = uniqueName();
  const first = await startApp(t, dir, name);
  const second = await startApp(t, dir, name);
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGHUP', process: name, all: false }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  const pids = [first.pid, second.pid].sort((a, b) => a - b);
  t.is(error.message, `2 unrelated processes are named "${name}" (pids ${pids.join(', ')}, each the top of its own tree); set all: true to signal every one, or use pidFile`);
  t.is(await first.hups(), 0);
  t.is(await second.hups(), 0);
});

test('a process notifier with all: true signals every real process of that name once', async (t) => {
  const dir = await tempDir(t);
  const name = uniqueName();
  const apps = [await startApp(t, dir, name), await startApp(t, dir, name)];
  const { pids } = await sendSignal({ signal: 'SIGHUP', process: name, all: true });
  t.deepEqual(pids, apps.map((app) => app.pid).sort((a, b) => a - b));
  for (const app of apps) t.is(await waitFor('the SIGHUP to be recorded', async () => ((await app.hups()) > 0 ? app.hups() : undefined)), 1);
});

test('the scan never matches the agent itself, even by its own name', async (t) => {
  const ownName = (await readFile('/proc/self/comm', 'utf8')).trim();
  t.false((await findProcesses(ownName)).includes(process.pid));
});

/** A fake /proc entry; `exe` becomes a symlink, `cmdline` is NUL-separated argv. */
async function fakeProc(root: string, pid: number, entry: { comm?: string; exe?: string; argv?: string[]; state?: string }): Promise<void> {
  const dir = join(root, String(pid));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'stat'), `${pid} (${entry.comm ?? 'x'}) ${entry.state ?? 'S'} 1 1 1 0 -1\n`);
  if (entry.comm !== undefined) await writeFile(join(dir, 'comm'), `${entry.comm}\n`);
  if (entry.exe !== undefined) await symlink(entry.exe, join(dir, 'exe'));
  await writeFile(join(dir, 'cmdline'), entry.argv === undefined ? '' : `${entry.argv.join('\0')}\0`);
}

test('the /proc scan matches comm, the executable basename or the argv[0] basename, and skips itself, zombies and non-pids', async (t) => {
  const root = await tempDir(t);
  await fakeProc(root, 10, { comm: 'gunicorn', exe: '/usr/bin/python3.12', argv: ['/usr/bin/python3', '/app/bin/gunicorn'] });
  await fakeProc(root, 11, { comm: 'python3.12', exe: '/usr/local/bin/gunicorn', argv: ['python3'] });
  await fakeProc(root, 12, { comm: 'worker', exe: '/usr/bin/python3.12', argv: ['/venv/bin/gunicorn', '--workers', '2'] });
  await fakeProc(root, 13, { comm: 'gunicorn', state: 'Z' });
  await fakeProc(root, 14, { comm: 'gunicorn', argv: ['gunicorn'] });
  await fakeProc(root, 15, { comm: 'nginx', exe: '/usr/sbin/gunicorn-old', argv: ['nginx'] });
  await fakeProc(root, 16, { comm: 'kthreadd' });
  await mkdir(join(root, 'self'));
  await writeFile(join(root, 'uptime'), '1.0 1.0\n');
  t.deepEqual(await findProcesses('gunicorn', { procRoot: root, selfPid: 14 }), [10, 11, 12]);
  t.deepEqual(await findProcesses('gunicorn-old', { procRoot: root, selfPid: 14 }), [15]);
  t.deepEqual(await findProcesses('kthreadd', { procRoot: root, selfPid: 14 }), [16]);
});

test('a 15-byte name does not match a longer process through its truncated comm, only one whose full name it is', async (t) => {
  const root = await tempDir(t);
  // The kernel keeps 15 bytes of comm: "my-app-server-2" is the comm of both of these.
  await fakeProc(root, 50, { comm: 'my-app-server-2', exe: '/usr/bin/my-app-server-2', argv: ['/usr/bin/my-app-server-2'] });
  await fakeProc(root, 51, { comm: 'my-app-server-2', exe: '/usr/bin/my-app-server-24', argv: ['my-app-server-24', '--port', '24'] });
  await fakeProc(root, 52, { comm: 'my-app-server-2' });
  t.deepEqual(await findProcesses('my-app-server-2', { procRoot: root, selfPid: 1 }), [50, 52], 'pid 52 shows no longer name, so its comm is all there is');
  t.deepEqual(await findProcesses('my-app-server-24', { procRoot: root, selfPid: 1 }), [51]);
});

test('an executable replaced on disk still matches by its name without the " (deleted)" suffix', async (t) => {
  const root = await tempDir(t);
  await fakeProc(root, 20, { comm: 'a', exe: '/usr/sbin/nginx (deleted)', argv: ['a'] });
  t.deepEqual(await processNames(20, root), { pid: 20, ppid: 1, comm: 'a', exe: 'nginx', argv0: 'a' });
  t.deepEqual(await findProcesses('nginx', { procRoot: root, selfPid: 1 }), [20]);
});

test('a process that vanished before its files were read is not a match', async (t) => {
  t.is(await processNames(99, await tempDir(t)), undefined);
});

test('an unreadable process table is ERR_NOTIFY naming where it looked', async (t) => {
  const root = join(await tempDir(t), 'no-proc');
  const error = await t.throwsAsync(findProcesses('app', { procRoot: root }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `cannot list processes in ${root}: ENOENT`);
});

test('with all: true a process that exits before its signal is named, and the others are still signalled', async (t) => {
  const root = await tempDir(t);
  for (const pid of [30, 31, 32]) await fakeProc(root, pid, { comm: 'app' });
  const sent: number[] = [];
  const kill = (pid: number) => {
    if (pid === 31) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    sent.push(pid);
  };
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGUSR1', process: 'app', all: true }, { procRoot: root, selfPid: 1, kill }));
  t.deepEqual(sent, [30, 32]);
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, 'could not send SIGUSR1: no process 31 is running (stale pid, or the PID namespace is not shared)');
});

test('a process the agent may not signal is ERR_NOTIFY suggesting the same user or CAP_KILL', async (t) => {
  const root = await tempDir(t);
  await fakeProc(root, 40, { comm: 'app' });
  const kill = () => { throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' }); };
  const error = await t.throwsAsync(sendSignal({ signal: 'SIGHUP', process: 'app', all: false }, { procRoot: root, selfPid: 1, kill }));
  t.regex(error.message, /not permitted to signal process 40 .*CAP_KILL/);
});

test('the topmost match of one tree is the target: workers (also through a non-matching parent) are not', (t) => {
  const found = [{ pid: 10, ppid: 1 }, { pid: 11, ppid: 10 }, { pid: 12, ppid: 10 }, { pid: 30, ppid: 20 }];
  const parentOf = new Map([[10, 1], [11, 10], [12, 10], [20, 11], [30, 20], [40, 1]]);
  t.deepEqual(topmost(found, parentOf), [10], 'pid 30 descends from worker 11 through a shell (20)');
  t.deepEqual(topmost([...found, { pid: 41, ppid: 40 }], parentOf), [10, 41], 'another server is another tree');
});
