// The command notifier with real child processes: no shell, exit status, timeout and kill, a secret-free env.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAgentError } from '../../agent/errors.js';
import { runCommand } from '../../agent/notify/command.js';
import { childEnvironment, SECRET_ENV_NAMES } from '../../agent/notify/env.js';
import { processNames } from '../../agent/notify/signal.js';
import { systemClock } from '../../agent/util/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fixtures, readIfExists, tempDir, waitFor } from './helpers.js';

const record = join(fixtures, 'record.sh');
const noSecrets = () => [];
const PATH = process.env['PATH'] ?? '/usr/bin:/bin';

test('arguments reach the program literally: no shell interprets ";", "$(...)", backticks or globs', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'out');
  const args = [`a; touch ${dir}/semicolon`, `$(touch ${dir}/substitution)`, `\`touch ${dir}/backtick\``, '*', '"quoted" $HOME', 'two words'];
  const outcome = await runCommand({ command: ['/bin/sh', record, out, ...args], timeout: 30_000 }, { clock: systemClock, secretValues: noSecrets });
  t.is(outcome.exitCode, 0);
  t.is(await readFile(`${out}.args`, 'utf8'), `${args.join('\n')}\n`);
  for (const name of ['semicolon', 'substitution', 'backtick']) t.false(existsSync(join(dir, name)), name);
});

test('a command that exits 0 resolves with its exit status and output byte counts, not the output', async (t) => {
  const outcome = await runCommand({ command: ['/bin/sh', '-c', 'printf hello; printf oops >&2'], timeout: 30_000 }, { clock: systemClock, secretValues: noSecrets });
  t.deepEqual(outcome, { exitCode: 0, stdoutBytes: 5, stderrBytes: 4, envDropped: [] });
});

test('a non-zero exit is ERR_NOTIFY with the exit status and byte counts in its details', async (t) => {
  const error = await t.throwsAsync(runCommand({ command: ['/bin/sh', '-c', 'echo out; exit 3'], timeout: 30_000 }, { clock: systemClock, secretValues: noSecrets }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, 'command "/bin/sh" exited with status 3');
  t.like(isAgentError(error) ? error.details : {}, { program: '/bin/sh', exitCode: 3, stdoutBytes: 4, stderrBytes: 0 });
});

test('a command killed by a signal is ERR_NOTIFY naming the signal', async (t) => {
  const error = await t.throwsAsync(runCommand({ command: ['/bin/sh', '-c', 'kill -USR2 $$'], timeout: 30_000 }, { clock: systemClock, secretValues: noSecrets }));
  t.is(error.message, 'command "/bin/sh" was killed by SIGUSR2');
  t.like(isAgentError(error) ? error.details : {}, { signal: 'SIGUSR2' });
});

test('a program that does not exist is ERR_NOTIFY with ENOENT', async (t) => {
  const error = await t.throwsAsync(runCommand({ command: ['/nonexistent/reload-app'], timeout: 30_000 }, { clock: systemClock, secretValues: noSecrets }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, 'command "/nonexistent/reload-app" could not start: ENOENT');
});

test('a command still running at its timeout gets SIGTERM and is ERR_NOTIFY saying it timed out', async (t) => {
  const ready = join(await tempDir(t), 'ready');
  const clock = new FakeClock();
  const running = runCommand({ command: ['/bin/sh', '-c', 'echo > "$0"; while :; do sleep 0.1; done', ready], timeout: 2_000 }, { clock, secretValues: noSecrets });
  const outcome = t.throwsAsync(running);
  await waitFor('the command to start', () => readIfExists(ready));
  await clock.advance(1_999);
  t.deepEqual(clock.pendingDelays, [1]);
  await clock.advance(1);
  const error = await outcome;
  t.is(error.message, 'command "/bin/sh" timed out after 2s and was killed with SIGTERM');
  t.like(isAgentError(error) ? error.details : {}, { timedOut: true, signal: 'SIGTERM' });
  t.deepEqual(clock.pendingDelays, [5_000], 'only the SIGKILL for what may be left of the group');
  await clock.advance(5_000);
  t.deepEqual(clock.pendingDelays, []);
});

test('a command that ignores SIGTERM is killed with SIGKILL after the grace period', async (t) => {
  const ready = join(await tempDir(t), 'ready');
  const clock = new FakeClock();
  const script = 'trap "" TERM; echo > "$0"; while :; do sleep 0.1; done';
  const running = runCommand({ command: ['/bin/sh', '-c', script, ready], timeout: 1_000 }, { clock, secretValues: noSecrets, killGraceMs: 3_000 });
  const outcome = t.throwsAsync(running);
  await waitFor('the command to start', () => readIfExists(ready));
  await clock.advance(1_000);
  t.deepEqual(clock.pendingDelays, [3_000]);
  await clock.advance(3_000);
  const error = await outcome;
  t.is(error.message, 'command "/bin/sh" timed out after 1s and was killed with SIGKILL');
  t.like(isAgentError(error) ? error.details : {}, { signal: 'SIGKILL' });
});

test('a timeout kills the whole process group, so a child the command started does not outlive it', async (t) => {
  const pidFile = join(await tempDir(t), 'child.pid');
  const clock = new FakeClock();
  const running = runCommand({ command: ['/bin/sh', '-c', 'sleep 600 & echo $! > "$0"; wait', pidFile], timeout: 1_000 }, { clock, secretValues: noSecrets });
  const outcome = t.throwsAsync(running);
  const grandchild = Number(await waitFor('the grandchild pid', async () => ((await readIfExists(pidFile))?.endsWith('\n') === true ? readIfExists(pidFile) : undefined)));
  await clock.advance(1_000);
  await outcome;
  t.is(await waitFor('the grandchild to be gone', async () => ((await processNames(grandchild)) === undefined ? true : undefined)), true);
});

test('a command that exits while a background child still holds its output counts as finished with its own status', async (t) => {
  const pidFile = join(await tempDir(t), 'child.pid');
  const outcome = await runCommand({ command: ['/bin/sh', '-c', 'sleep 600 & echo $! > "$0"; echo started', pidFile], timeout: 60_000 }, { clock: systemClock, secretValues: noSecrets });
  const grandchild = Number(await readFile(pidFile, 'utf8'));
  t.teardown(() => { try { process.kill(grandchild, 'SIGKILL'); } catch { /* gone */ } });
  t.is(outcome.exitCode, 0);
  t.not(await processNames(grandchild), undefined);
});

test('the child environment lacks VAULT_TOKEN, AWS credentials and every variable carrying a held secret value', async (t) => {
  const out = join(await tempDir(t), 'out');
  const secrets = ['db-password-0123', 'abc'];
  const env = {
    PATH, HOME: '/home/app', LANG: 'C.UTF-8',
    VAULT_TOKEN: 'hvs.token', AWS_SECRET_ACCESS_KEY: 'aws-secret', AWS_SESSION_TOKEN: 'aws-session', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    DB_PASSWORD: 'db-password-0123', DATABASE_URL: 'postgres://app:db-password-0123@db/app', SHORT: 'abc', HAS_SHORT: 'xabcx',
  };
  const outcome = await runCommand({ command: ['/bin/sh', record, out], timeout: 30_000 }, { clock: systemClock, secretValues: () => secrets, env });
  const seen = new Map((await readFile(`${out}.env`, 'utf8')).trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  for (const name of ['VAULT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'DB_PASSWORD', 'DATABASE_URL', 'SHORT']) t.false(seen.has(name), name);
  t.like(Object.fromEntries(seen), { PATH, HOME: '/home/app', LANG: 'C.UTF-8', HAS_SHORT: 'xabcx' });
  t.false(seen.has('AWS_ACCESS_KEY_ID'), 'the key id goes with its key');
  t.false([...seen.values()].some((value) => value.includes('db-password-0123') || value === 'abc'));
  t.deepEqual(outcome.envDropped, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'DATABASE_URL', 'DB_PASSWORD', 'SHORT', 'VAULT_TOKEN']);
});

test('the environment rule drops fixed names, exact secret values, and values containing a secret of 8+ characters', (t) => {
  const env = { A: 'x', VAULT_TOKEN: 'x', AWS_SECURITY_TOKEN: 'y', EMPTY: '', EXACT: 'seven77', CONTAINS_SHORT: '-seven77-', CONTAINS_LONG: '-eight888-', UNDEF: undefined };
  const { env: kept, dropped } = childEnvironment(env, ['seven77', 'eight888', '']);
  t.deepEqual(kept, { A: 'x', EMPTY: '', CONTAINS_SHORT: '-seven77-' });
  t.deepEqual(dropped, ['AWS_SECURITY_TOKEN', 'CONTAINS_LONG', 'EXACT', 'VAULT_TOKEN']);
  t.true(['VAULT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN'].every((name) => SECRET_ENV_NAMES.includes(name)));
});

test('after a timeout, a process of the group that ignores SIGTERM still gets SIGKILL when the command itself has exited', async (t) => {
  const pidFile = join(await tempDir(t), 'child.pid');
  const clock = new FakeClock();
  // The shell dies of SIGTERM at once; the child it started ignores SIGTERM (inherited across exec) and holds the output.
  const script = 'sh -c \'trap "" TERM; echo $$ > "$0"; exec sleep 600\' "$0" & wait';
  const running = runCommand({ command: ['/bin/sh', '-c', script, pidFile], timeout: 1_000 }, { clock, secretValues: noSecrets, killGraceMs: 3_000 });
  const outcome = t.throwsAsync(running);
  const straggler = Number(await waitFor('the child pid', async () => ((await readIfExists(pidFile))?.endsWith('\n') === true ? readIfExists(pidFile) : undefined)));
  t.teardown(() => { try { process.kill(straggler, 'SIGKILL'); } catch { /* gone */ } });
  await clock.advance(1_000);
  // The shell's death arms the output drain (the child still holds the output), then the command counts as ended.
  await waitFor('the shell to die of SIGTERM', () => (clock.pendingDelays.includes(250) ? true : undefined));
  await clock.advance(250);
  const error = await outcome;
  t.is(error.message, 'command "/bin/sh" timed out after 1s and was killed with SIGTERM');
  t.not(await processNames(straggler), undefined, 'the straggler survives SIGTERM');
  await clock.advance(2_750);
  t.is(await waitFor('the straggler to be gone', async () => ((await processNames(straggler)) === undefined ? true : undefined), 5_000), true);
});

test('a command that exited 0 before its timeout is a success even when the timeout falls within its output drain', async (t) => {
  const pidFile = join(await tempDir(t), 'child.pid');
  const clock = new FakeClock();
  const running = runCommand({ command: ['/bin/sh', '-c', 'sleep 600 & echo $! > "$0"', pidFile], timeout: 100 }, { clock, secretValues: noSecrets });
  const background = Number(await waitFor('the background pid', async () => ((await readIfExists(pidFile))?.endsWith('\n') === true ? readIfExists(pidFile) : undefined)));
  t.teardown(() => { try { process.kill(background, 'SIGKILL'); } catch { /* gone */ } });
  // The command has exited; its background child holds the output, so the drain is waiting.
  await waitFor('the command to exit', () => (clock.pendingDelays.includes(250) ? true : undefined));
  await clock.advance(250);
  const outcome = await running;
  t.is(outcome.exitCode, 0);
  t.not(await processNames(background), undefined, 'a background child is left alone, as for any command that exits in time');
});

test('a command still running when the agent exits (the stop grace ran out) is killed with its group, not left behind', async (t) => {
  const pidFile = join(await tempDir(t), 'command.pid');
  const here = new URL('../../agent/', import.meta.url);
  // A stand-in agent: starts a command that hangs (it ignores SIGTERM too), then exits as `run` does after 5 s.
  const script = [
    `import { runCommand } from ${JSON.stringify(new URL('notify/command.ts', here).href)};`,
    `import { systemClock } from ${JSON.stringify(new URL('util/clock.ts', here).href)};`,
    `void runCommand({ command: ['/bin/sh', '-c', 'trap "" TERM; echo $$ > "$0"; while :; do sleep 0.1; done', ${JSON.stringify(pidFile)}], timeout: 600000 }, { clock: systemClock, secretValues: () => [] });`,
    `const poll = setInterval(() => { if (existsSync(${JSON.stringify(pidFile)})) { clearInterval(poll); process.exit(1); } }, 20);`,
    `import { existsSync } from 'node:fs';`,
  ].join('\n');
  const agent = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  t.teardown(() => { agent.kill('SIGKILL'); });
  const exited = await new Promise<number | null>((resolve) => { agent.on('exit', resolve); });
  t.is(exited, 1);
  const hung = Number(await readFile(pidFile, 'utf8'));
  t.teardown(() => { try { process.kill(-hung, 'SIGKILL'); } catch { /* gone */ } });
  t.is(await waitFor('the hung command to be gone', async () => ((await processNames(hung)) === undefined ? true : undefined), 5_000), true);
});
