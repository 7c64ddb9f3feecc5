// The log lines operators grep for, counted through the built binary (docs/operations.md "Logs"): one warning per
// failing backend per cycle, one line per cycle with its trigger and counts, one for a refresh, and the stop.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { eventually, startAgent } from '../helpers/agent-process.js';
import { logLines, runCli, scratch } from '../helpers/cli.js';

test('an AWS backend without credentials and ten secrets gives one single-line warning for the cycle', async (t) => {
  const lines = Array.from({ length: 10 }, (_, i) => `K${i}={{secret "app/k${i}"}}`).join('\n');
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': `${lines}\n` });
  t.teardown(cleanup);
  const env: Record<string, string> = { AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), HOME: dir };
  for (let i = 0; i < 10; i++) env[`K${i}`] = `value-${i}`;
  const result = await runCli(['once', '--templates', join(dir, 'templates'), '--output', join(dir, 'out')], { env });
  t.is(result.code, 0, result.stderr);
  const warnings = logLines(result.stderr).filter((line) => line['level'] === 'warn' && line['backend'] === 'aws');
  t.is(warnings.length, 1, result.stderr);
  t.like(warnings[0], { component: 'store', paths: 10, path: 'app/k0' });
  t.regex(String(warnings[0]?.['msg']), /^aws backend unavailable for 10 paths \("app\/k0", "app\/k1", "app\/k2" and 7 more\): /);
  t.false(String(warnings[0]?.['msg']).includes('\n'));
  t.false(result.stderr.includes('value-3'));
});

test('run logs one line per cycle (trigger and counts), one per refresh request, and its stop', async (t) => {
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'K={{secret "app/k"}}\n', 'secrets.yaml': 'app:\n  k: "v1"\n' });
  t.teardown(cleanup);
  await writeFile(join(dir, 'config.yaml'), ['templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', 'listen: ""', 'schedule: "0 0 1 1 *"', 'splay: 0s', ''].join('\n'));
  const agent = startAgent(['--config', join(dir, 'config.yaml')]);
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  const cycles = (): Array<Record<string, unknown>> => logLines(agent.stderr()).filter((line) => String(line['msg']).startsWith('cycle ('));
  t.true(await eventually(() => cycles().length === 1, 20_000), agent.stderr());
  t.like(cycles()[0], { level: 'info', component: 'agent', trigger: 'start', written: 1, unchanged: 0, failed: 0 });
  t.true((await readFile(join(dir, 'out/app.env'), 'utf8')).includes('v1'));
  agent.child.kill('SIGUSR1');
  t.true(await eventually(() => cycles().length === 2, 20_000), agent.stderr());
  t.like(cycles()[1], { trigger: 'SIGUSR1', written: 0, unchanged: 1, failed: 0 });
  t.regex(String(cycles()[1]?.['msg']), /^cycle \(SIGUSR1\): 0 written, 1 unchanged, 0 failed in \d+ ms$/);
  t.is(logLines(agent.stderr()).filter((line) => line['msg'] === 'refresh requested (SIGUSR1)').length, 1);
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0);
  const messages = logLines(agent.stderr()).map((line) => line['msg']);
  t.true(messages.includes('stopping (SIGTERM): finishing the cycle in flight'));
  t.is(messages.at(-1), 'stopped');
});
