import { join } from 'node:path';
import test from 'ava';
import { prepareTemplate } from '../../agent/template/load.js';
import { readFile, readdir } from 'node:fs/promises';
import { root, runCli, scratch } from '../helpers/cli.js';

test('check lists every dependency of every stock template and exits 0', async (t) => {
  const result = await runCli(['check', '--config', 'examples/quickstart/secrets-agent.yaml']);
  t.is(result.code, 0, result.stderr);
  const dir = join(root, 'templates');
  for (const name of await readdir(dir)) {
    const template = prepareTemplate(join(dir, name), name, await readFile(join(dir, name), 'utf8'));
    t.true(result.stdout.includes(`${name} -> ${template.destination}`), name);
    for (const dep of template.dependencies) t.true(result.stdout.includes(dep.path), `${name}: ${dep.path}`);
  }
  t.regex(result.stdout, /secret +exchange\/binance\/api_key +\(line 9\)/);
  t.regex(result.stdout, /3 templates, \d+ dependencies \(\d+ unique secret paths\), 0 problems/);
});

test('check writes nothing and fetches nothing', async (t) => {
  const { dir, cleanup } = await scratch({ 'templates/a.env.hbs': 'A={{secret "x/y"}}\n' });
  t.teardown(cleanup);
  const result = await runCli(['check', '--diff', '--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', 'file']);
  t.is(result.code, 78, 'to fetch, the forced file backend needs a path: a configuration problem');
  const offline = await runCli(['check', '--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', 'file']);
  t.is(offline.code, 0, 'linting needs no backend');
  const ok = await runCli(['check', '--templates', join(dir, 'templates'), '--output', join(dir, 'out')]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /secret +x\/y/);
  await t.throwsAsync(readdir(join(dir, 'out')));
});

test('check reports a broken template and a dynamic path, and exits 1', async (t) => {
  const { dir, cleanup } = await scratch({
    'templates/a.env.hbs': 'A={{secret "x/y"}}\n',
    'templates/b.env.hbs': 'B={{#each list}}{{secret this}}{{/each}}\n',
    'templates/c.env.hbs': 'C={{secret "x/y"\n',
  });
  t.teardown(cleanup);
  const result = await runCli(['check', '--templates', join(dir, 'templates'), '--output', join(dir, 'out')]);
  t.is(result.code, 1);
  t.regex(result.stdout, /b\.env\.hbs:1: secret takes exactly one string literal/);
  t.regex(result.stdout, /c\.env\.hbs:1: not valid Handlebars/);
  t.regex(result.stdout, /3 templates, 1 dependency \(1 unique secret path\), 2 problems/);
});

test('two templates with one destination are a problem for check', async (t) => {
  const { dir, cleanup } = await scratch({ 'templates/a.env.hbs': 'A=1\n', 'templates/b.hbs': '---\ndestination: a.env\n---\nB=1\n' });
  t.teardown(cleanup);
  const result = await runCli(['check', '--templates', join(dir, 'templates'), '--output', join(dir, 'out')]);
  t.is(result.code, 1);
  t.regex(result.stdout, /is also written by .*a\.env\.hbs/);
});

test('usage errors exit 2, --help and version exit 0', async (t) => {
  t.is((await runCli(['once', '--no-such-flag'])).code, 2);
  t.is((await runCli(['frobnicate'])).code, 2);
  const help = await runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /once/);
  t.regex((await runCli(['check', '--help'])).stdout, /--config <file>/);
  const version = await runCli(['version']);
  t.is(version.code, 0);
  t.regex(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
