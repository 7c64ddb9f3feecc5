// Sets through the built CLI (docs/templates.md "Sets"): `once` and `run` write a set as one generation behind
// `..data`, hold it when one template fails, write nothing when nothing changed, and run its notifiers once per change.
import { lstat, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { logLines, runCli, scratch } from '../helpers/cli.js';
import { eventually, freePort, metricValue, startAgent } from '../helpers/agent-process.js';

const CONFIG = ['templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', 'listen: ""', 'notifiers:', '  reload: { touch: ./touched }', ''].join('\n');
const SECRETS = (n: number, key = true): string => `tls:\n  cert: "CERT-${n}"\n${key ? `  key: "KEY-${n}"\n` : ''}`;
const TEMPLATES = {
  'templates/cert.pem.hbs': '---\nset: tls\nformat: raw\nmode: "0644"\nnotify: [reload]\n---\n{{secret "tls/cert"}}\n',
  'templates/key.pem.hbs': '---\nset: tls\nformat: raw\ndestination: private/key.pem\n---\n{{secret "tls/key"}}\n',
  'templates/app.env.hbs': 'CERT={{secret "tls/cert"}}\n',
};

test('once writes a set as one generation, writes nothing when unchanged, and holds the set when a template fails', async (t) => {
  const { dir, cleanup } = await scratch({ 'config.yaml': CONFIG, 'secrets.yaml': SECRETS(1), ...TEMPLATES });
  t.teardown(cleanup);
  const out = join(dir, 'out');
  const once = (): ReturnType<typeof runCli> => runCli(['once', '--config', join(dir, 'config.yaml')], { cwd: dir });

  const first = await once();
  t.is(first.code, 0, first.stderr);
  const generation = await readlink(join(out, '..data'));
  t.regex(generation, /^\.\.\d{4}_/);
  t.is(await readlink(join(out, 'cert.pem')), '..data/cert.pem');
  t.is(await readlink(join(out, 'private')), '..data/private');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT-1\n');
  t.is(await readFile(join(out, 'private/key.pem'), 'utf8'), 'KEY-1\n');
  t.deepEqual((await readdir(out)).sort(), ['..data', '.secrets-agent', generation, 'app.env', 'cert.pem', 'private'].sort(), 'the plain template is a plain file beside the set');

  const again = await once();
  t.is(again.code, 0, again.stderr);
  t.is(await readlink(join(out, '..data')), generation, 'unchanged: no new generation');
  t.regex(again.stderr, /0 written, 3 unchanged/);

  await writeFile(join(dir, 'secrets.yaml'), SECRETS(2, false));
  const failing = await once();
  t.is(failing.code, 1);
  t.is(await readlink(join(out, '..data')), generation, 'no new generation when one template of the set failed');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT-1\n', 'the cert is not written without its key');
  t.is(await readFile(join(out, 'app.env'), 'utf8'), "CERT='CERT-2'\n", 'templates outside the set are written as usual');
  const held = logLines(failing.stderr).find((line) => line['code'] === 'ERR_SET_INCOMPLETE');
  t.is(held?.['msg'], 'set "tls" not written: key.pem.hbs did not render; every file of the set keeps its current generation');
  t.deepEqual((await readdir(out)).filter((name) => name.startsWith('..')).length, 2, '..data and one generation');

  await writeFile(join(dir, 'secrets.yaml'), SECRETS(3));
  const fixed = await once();
  t.is(fixed.code, 0, fixed.stderr);
  const next = await readlink(join(out, '..data'));
  t.not(next, generation);
  t.deepEqual((await readdir(out)).filter((name) => name.startsWith('..')).sort(), ['..data', next].sort(), 'the previous generation was removed');
  t.is(await readFile(join(out, 'private/key.pem'), 'utf8'), 'KEY-3\n');

  // check --diff reads a set's files through ..data (their visible names are the agent's links).
  const diff = await runCli(['check', '--diff', '--config', join(dir, 'config.yaml')], { cwd: dir });
  t.is(diff.code, 0, diff.stdout + diff.stderr);
  t.regex(diff.stdout, /^cert\.pem\.hbs -> .*\/out\/cert\.pem: no changes$/m);
  t.regex(diff.stdout, /^key\.pem\.hbs -> .*\/out\/private\/key\.pem: no changes$/m);
});

test('check lists the set of each template and the sets', async (t) => {
  const { dir, cleanup } = await scratch({ 'config.yaml': CONFIG, 'secrets.yaml': SECRETS(1), ...TEMPLATES, 'templates/stray.hbs': '---\ndestination: private/other\n---\nx\n' });
  t.teardown(cleanup);
  const result = await runCli(['check', '--config', join(dir, 'config.yaml')], { cwd: dir });
  t.is(result.code, 1, 'a plain template under the set\'s top-level link is a problem');
  t.regex(result.stdout, /^cert\.pem\.hbs -> cert\.pem \(raw, mode 0644, notify reload, set tls\)$/m);
  t.regex(result.stdout, /^key\.pem\.hbs -> private\/key\.pem \(raw, mode 0600, set tls\)$/m);
  t.regex(result.stdout, /^set tls: cert\.pem\.hbs, key\.pem\.hbs \(written together, one generation behind .*\/out\/\.\.data\)$/m);
  t.regex(result.stdout, /problem: .*stray\.hbs: destination private\/other is under "private", which is a link into \.\.data for set "tls"/);
});

test('run: a change of one template of a set swaps the generation and runs the set\'s notifier once; an unchanged cycle runs none', async (t) => {
  const port = await freePort();
  const { dir, cleanup } = await scratch({ 'secrets.yaml': SECRETS(1), ...TEMPLATES });
  t.teardown(cleanup);
  const notified = join(dir, 'notified');
  await writeFile(join(dir, 'config.yaml'), [
    'templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', `listen: "127.0.0.1:${port}"`,
    'schedule: "0 0 1 1 *"', 'splay: 0s', 'notifiers:', `  reload: { command: [/bin/sh, -c, "echo run >> ${notified}"] }`, '',
  ].join('\n'));
  const agent = startAgent(['--config', join(dir, 'config.yaml')]);
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  const base = `http://127.0.0.1:${port}`;
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  const runs = async (): Promise<number> => (await readFile(notified, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  t.true(await eventually(async () => (await fetch(`${base}/health/ready`)).status === 200), agent.stderr());
  const out = join(dir, 'out');
  const first = await readlink(join(out, '..data'));

  // Only the key changes; the notifier is named by the cert's template: a change of the set is a change of each file.
  await writeFile(join(dir, 'secrets.yaml'), `tls:\n  cert: "CERT-1"\n  key: "KEY-2"\n`);
  t.true(await eventually(async () => (await readFile(join(out, 'private/key.pem'), 'utf8')) === 'KEY-2\n'), agent.stderr());
  t.not(await readlink(join(out, '..data')), first);
  t.true(await eventually(async () => (await runs()) === 1), agent.stderr());

  const unchangedBefore = metricValue(await metrics(), 'template_renders_total', { template: 'key.pem.hbs', result: 'unchanged' });
  t.is((await fetch(`${base}/v1/refresh`, { method: 'POST' })).status, 202);
  t.true(await eventually(async () => metricValue(await metrics(), 'template_renders_total', { template: 'key.pem.hbs', result: 'unchanged' }) > unchangedBefore));
  t.true(await eventually(async () => metricValue(await metrics(), 'notify_total', { notifier: 'reload', result: 'success' }) === 1));
  t.is(await runs(), 1, 'an unchanged set notifies nobody');

  const status = (await (await fetch(`${base}/v1/status`)).json()) as { templates: Array<{ template: string; set?: string }> };
  t.deepEqual(status.templates.map((entry) => [entry.template, entry.set]), [['app.env.hbs', undefined], ['cert.pem.hbs', 'tls'], ['key.pem.hbs', 'tls']]);
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0);
});

test('run: a template moved out of its set by a reload becomes a plain file, and moved back becomes a link again', async (t) => {
  const { dir, cleanup } = await scratch({ 'config.yaml': CONFIG, 'secrets.yaml': SECRETS(1), ...TEMPLATES });
  t.teardown(cleanup);
  const agent = startAgent(['--config', join(dir, 'config.yaml')]);
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  const out = join(dir, 'out');
  const kindOf = async (name: string): Promise<string> => lstat(join(out, name)).then((stats) => (stats.isSymbolicLink() ? 'link' : stats.isDirectory() ? 'directory' : 'file'), () => 'missing');
  t.true(await eventually(async () => (await kindOf('private')) === 'link'), agent.stderr());

  // key.pem.hbs leaves the set: the link `private` goes, the file is written as a plain file under a real directory.
  await writeFile(join(dir, 'templates/key.pem.hbs'), '---\nformat: raw\ndestination: private/key.pem\n---\n{{secret "tls/key"}}\n');
  agent.child.kill('SIGHUP');
  t.true(await eventually(async () => (await kindOf('private')) === 'directory' && (await kindOf('private/key.pem')) === 'file'), agent.stderr());
  t.is(await readFile(join(out, 'private/key.pem'), 'utf8'), 'KEY-1\n');
  t.is(await kindOf('cert.pem'), 'link');
  await t.throwsAsync(lstat(join(out, '..data/private')), { code: 'ENOENT' });

  // Back into the set: the real directory `private` now blocks the set's link; the set is held and says so.
  await writeFile(join(dir, 'templates/key.pem.hbs'), TEMPLATES['templates/key.pem.hbs']);
  agent.child.kill('SIGHUP');
  t.true(await eventually(() => agent.stderr().includes('is a real directory, and a set\'s top-level name must be the agent\'s link into ..data; move it away')), agent.stderr());
  t.is(await kindOf('private'), 'directory');
  await rm(join(out, 'private'), { recursive: true });
  agent.child.kill('SIGUSR1');
  t.true(await eventually(async () => (await kindOf('private')) === 'link' && (await readFile(join(out, 'private/key.pem'), 'utf8').catch(() => '')) === 'KEY-1\n'), agent.stderr());
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0);
});
