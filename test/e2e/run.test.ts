// The sidecar end to end: the built agent as a child process, a real Python program reading the file it
// writes, the file backend, a real SIGHUP.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import test from 'ava';
import { root, scratch } from '../helpers/cli.js';
import { eventually, freePort, metricValue, startAgent } from '../helpers/agent-process.js';

interface Read {
  reason: string;
  values: Record<string, string>;
}

async function reads(file: string): Promise<Read[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Read);
}

test('a changed secret reaches a Python app after exactly one SIGHUP; an unchanged cycle sends none', async (t) => {
  const port = await freePort();
  const { dir, cleanup } = await scratch({
    'secrets.yaml': 'app:\n  secret_key: "first value"\n',
    'templates/app.env.hbs': '---\nnotify: [app]\n---\nSECRET_KEY={{secret "app/secret_key"}}\n',
  });
  t.teardown(cleanup);
  const pidFile = join(dir, 'app.pid');
  await writeFile(join(dir, 'config.yaml'), [
    'templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', `listen: "127.0.0.1:${port}"`,
    'schedule: "0 0 1 1 *"', 'splay: 0s', 'notifiers:', `  app: { signal: SIGHUP, pidFile: ${pidFile} }`, '',
  ].join('\n'));
  const agent = startAgent(['--config', join(dir, 'config.yaml')]);
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  const base = `http://127.0.0.1:${port}`;
  t.true(await eventually(async () => (await fetch(`${base}/health/ready`)).status === 200), agent.stderr());

  const report = join(dir, 'report.jsonl');
  const app = spawn('/usr/bin/python3', [join(root, 'test/fixtures/apps/reader.py'), join(dir, 'out/app.env'), report, pidFile], { stdio: 'ignore' });
  t.teardown(() => app.kill('SIGKILL'));
  t.true(await eventually(async () => (await reads(report)).length === 1 && (await readFile(pidFile, 'utf8').catch(() => '')) !== ''));
  t.deepEqual((await reads(report))[0], { reason: 'start', values: { SECRET_KEY: 'first value' } });

  await writeFile(join(dir, 'secrets.yaml'), 'app:\n  secret_key: "second value, with $ and \'quotes\'"\n');
  t.true(await eventually(async () => (await reads(report)).length >= 2), agent.stderr());
  t.deepEqual((await reads(report))[1], { reason: 'hup', values: { SECRET_KEY: "second value, with $ and 'quotes'" } });

  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  const unchangedBefore = metricValue(await metrics(), 'template_renders_total', { result: 'unchanged' });
  t.is((await fetch(`${base}/v1/refresh`, { method: 'POST' })).status, 202);
  t.true(await eventually(async () => metricValue(await metrics(), 'template_renders_total', { result: 'unchanged' }) > unchangedBefore));
  // No fixed sleep: the cycle chose its notifiers when it counted the unchanged render; a SIGHUP of our own is
  // then a barrier, and the app's next read must be ours (the third), not one the agent caused.
  process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGHUP');
  t.true(await eventually(async () => (await reads(report)).length >= 3));
  t.is((await reads(report)).length, 3, 'an unchanged cycle notifies nobody');
  t.is(metricValue(await metrics(), 'notify_total', { notifier: 'app', result: 'success' }), 1);
  t.true(metricValue(await metrics(), 'secret_requests_total', { backend: 'file', status: 'found' }) >= 3);
  t.is(metricValue(await metrics(), 'backend_up', { backend: 'file' }), 1);

  const status = (await (await fetch(`${base}/v1/status`)).json()) as { ready: boolean; templates: Array<{ template: string; dependencies: unknown[] }> };
  t.true(status.ready);
  t.deepEqual(status.templates.map((entry) => entry.template), ['app.env.hbs']);
  t.false(JSON.stringify(status).includes('second value'));

  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0);
  t.false(agent.stderr().includes('second value'));
});

test('every logging path at debug level leaves no secret value in the output', async (t) => {
  const port = await freePort();
  const secret = 'TOPSECRET-value-9f3a';
  const { dir, cleanup } = await scratch({
    'secrets.yaml': `app:\n  secret_key: "${secret}"\n  other: "x\\ny"\n`,
    'templates/app.env.hbs': '---\nnotify: [broken, hook]\n---\nK={{secret "app/secret_key"}}\n',
    'templates/bad.env.hbs': 'K={{{secret "app/secret_key"}}}\nI={{{secret "app/other"}}}\n',
  });
  t.teardown(cleanup);
  await writeFile(join(dir, 'config.yaml'), [
    'templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', `listen: "127.0.0.1:${port}"`,
    'log: { level: trace }', 'notifyOnStart: true', 'retry: { min: 50ms, max: 100ms }',
    'notifiers:', '  broken: { command: [/bin/sh, -c, "echo $0 >&2; exit 3"] }', `  hook: { http: { url: "http://127.0.0.1:${await freePort()}/reload" }, timeout: 1s }`, '',
  ].join('\n'));
  const agent = startAgent(['--config', join(dir, 'config.yaml')], { SECRET_IN_ENV: secret });
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  t.true(await eventually(() => agent.stderr().includes('ERR_OUTPUT_INVALID') && agent.stderr().includes('ERR_NOTIFY')), agent.stderr());
  await writeFile(join(dir, 'secrets.yaml'), `app:\n  secret_key: "${secret}"\n  broken: [\n`);
  t.true(await eventually(() => /cannot parse/.test(agent.stderr())), agent.stderr());
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0);
  const output = agent.stderr();
  t.true(output.includes('"level":"trace"') || output.includes('"level":"debug"'), 'debug lines were written');
  t.true(output.includes('"component":"audit"'));
  t.false(output.includes(secret));
  t.false(output.includes('TOPSECRET'));
});

test('SIGUSR1 renders now, SIGHUP reloads the configuration, and a second SIGTERM exits at once', async (t) => {
  const port = await freePort();
  const { dir, cleanup } = await scratch({ 'secrets.yaml': 'app:\n  key: "v1"\n', 'templates/a.env.hbs': '---\nnotify: [slow]\n---\nK={{secret "app/key"}}\n' });
  t.teardown(cleanup);
  const config = (output: string): string => ['templates: ./templates', `output: ${output}`, 'backend: file', 'file: { path: ./secrets.yaml }', `listen: "127.0.0.1:${port}"`, 'schedule: "0 0 1 1 *"', 'notifiers:', `  slow: { command: [/bin/sh, -c, "touch ${join(dir, 'started')}; sleep 30"], timeout: 60s }`, ''].join('\n');
  await writeFile(join(dir, 'config.yaml'), config('./out'));
  const agent = startAgent(['--config', join(dir, 'config.yaml')]);
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  const base = `http://127.0.0.1:${port}`;
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  t.true(await eventually(async () => (await fetch(`${base}/health/ready`)).status === 200), agent.stderr());

  agent.child.kill('SIGUSR1');
  t.true(await eventually(async () => metricValue(await metrics(), 'template_renders_total', { result: 'unchanged' }) === 1), agent.stderr());

  await writeFile(join(dir, 'config.yaml'), config('./out-reloaded'));
  agent.child.kill('SIGHUP');
  t.true(await eventually(async () => (await readFile(join(dir, 'out-reloaded/a.env'), 'utf8').catch(() => '')) === "K='v1'\n"), agent.stderr());

  // The reload wrote a new file, so the slow notifier is running: a clean stop would wait for it.
  t.true(await eventually(async () => (await readFile(join(dir, 'started')).then(() => true, () => false))), agent.stderr());
  agent.child.kill('SIGTERM');
  // No fixed sleep: SIGTERM again every 100 ms until the agent exits. 143 comes only from a SIGTERM handled after
  // the first (a clean stop would be 0, after the 5 s grace 1), however late the first one is handled.
  const again = setInterval(() => agent.child.kill('SIGTERM'), 100);
  t.is(await agent.exited, 143);
  clearInterval(again);
});
