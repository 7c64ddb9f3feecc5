import { chmod, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import test from 'ava';
import { logLines, root, runCli, scratch } from '../helpers/cli.js';

const secrets = 'app:\n  secret_key: "k-1"\nexchange:\n  binance:\n    api_key: "bk"\n    api_secret: "bs"\n';
const config = 'templates: ./templates\noutput: ./out\nbackend: file\nfile:\n  path: ./secrets.yaml\n';

test('once renders the quickstart into its output folder with mode 0600', async (t) => {
  const out = join(root, 'examples/quickstart/out');
  const result = await runCli(['once', '--config', 'examples/quickstart/secrets-agent.yaml']);
  t.is(result.code, 0, result.stderr);
  // The destinations, and the agent's own directory: empty, since `backend: file` is a forced backend, which keeps no
  // provenance (which backend served each path); a chain (`backend: auto`) would keep provenance.json there.
  t.deepEqual((await readdir(out)).sort(), ['.secrets-agent', 'app.env', 'config.json', 'database.env']);
  t.deepEqual(await readdir(join(out, '.secrets-agent')), []);
  const env = parseEnv(await readFile(join(out, 'app.env'), 'utf8'));
  t.is(env['BINANCE_API_SECRET'], "FAKE-binance-secret-with-$pecial'chars");
  t.is(env['GATEIO_API_SECRET'], 'FAKE gateio secret # not a comment');
  const json = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { database: { password: string } };
  t.is(json.database.password, 'FAKE-postgres-p@ss"word');
  t.is((await stat(join(out, 'app.env'))).mode & 0o777, 0o600);
});

test('a second run writes nothing when no secret changed', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n' });
  t.teardown(cleanup);
  t.is((await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')])).code, 0);
  const before = await stat(join(dir, 'out/app.env'));
  const again = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(again.code, 0);
  const after = await stat(join(dir, 'out/app.env'));
  t.is(after.ino, before.ino);
  t.is(after.mtimeMs, before.mtimeMs);
  t.like(logLines(again.stderr).at(-1), { written: 0, unchanged: 1 });
});

test('a missing secret fails the run with its path, and the previous file is kept', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n', 'templates/ok.env.hbs': 'B={{secret "exchange/binance/api_key"}}\n' });
  t.teardown(cleanup);
  t.is((await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')])).code, 0);
  await writeFile(join(dir, 'templates/app.env.hbs'), 'K={{secret "app/secret_key"}}\nX={{secret "app/missing_key"}}\n');
  await writeFile(join(dir, 'secrets.yaml'), secrets.replace('bk', 'bk-2'));
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(result.code, 1);
  const errors = logLines(result.stderr).filter((line) => line['level'] === 'error');
  t.true(errors.some((line) => line['code'] === 'ERR_SECRET_NOT_FOUND' && String(line['msg']).includes('app.env.hbs:2: secret "app/missing_key": not found (tried file)')));
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "K='k-1'\n");
  t.is(await readFile(join(dir, 'out/ok.env'), 'utf8'), "B='bk-2'\n", 'the other template still renders');
});

test('a broken template names file and line, and its file is kept', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n' });
  t.teardown(cleanup);
  t.is((await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')])).code, 0);
  await writeFile(join(dir, 'templates/app.env.hbs'), '---\nmode: "0600"\n---\nK={{secret "app/secret_key"}}\nB={{#if x}}{{/each}}\nC=1\n');
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(result.code, 1);
  t.regex(result.stderr, /app\.env\.hbs:5: not valid Handlebars/);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "K='k-1'\n");
});

test('a destination outside the output directory is refused and nothing is written there', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/evil.hbs': '---\ndestination: ../escaped.txt\n---\n{{secret "app/secret_key"}}\n' });
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(result.code, 1);
  t.regex(result.stderr, /ERR_DESTINATION/);
  t.regex(result.stderr, /outside the output directory/);
  await t.throwsAsync(stat(join(dir, 'escaped.txt')));
});

test('a destination that is a symlink is refused and the link target is untouched', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n', 'victim.txt': 'original\n', 'out/.keep': '' });
  t.teardown(cleanup);
  await symlink(join(dir, 'victim.txt'), join(dir, 'out/app.env'));
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(result.code, 1);
  t.regex(result.stderr, /symlink|symbolic link/);
  t.is(await readFile(join(dir, 'victim.txt'), 'utf8'), 'original\n');
});

test('a bad config key exits 78 naming the key and the closest valid one', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': `${config}outptu: ./x\n`, 'secrets.yaml': secrets, 'templates/a.hbs': 'x' });
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(result.code, 78);
  t.regex(result.stderr, /outptu/);
  t.regex(result.stderr, /did you mean "output"/);
});

test('flags override the environment, which overrides the file', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n' });
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml'), '--output', join(dir, 'flag-out')], { env: { SECRETS_AGENT_OUTPUT: join(dir, 'env-out') } });
  t.is(result.code, 0, result.stderr);
  t.is(await readFile(join(dir, 'flag-out/app.env'), 'utf8'), "K='k-1'\n");
  await t.throwsAsync(stat(join(dir, 'env-out')));
});

test('the env backend serves a run with no file at all', async (t) => {
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'K={{secret "exchange/binance/api_key"}}\n' });
  t.teardown(cleanup);
  const result = await runCli(['once', '--templates', join(dir, 'templates'), '--output', join(dir, 'out')], { env: { BINANCE_API_KEY: 'from env' } });
  t.is(result.code, 0, result.stderr);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "K='from env'\n");
});

test('no secret value appears in the logs of a failing run', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': 'app:\n  secret_key: "TOPSECRET-\\r-VALUE"\n', 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n', 'templates/raw.env.hbs': 'K={{{secret "app/secret_key"}}}\nL=x y\n' });
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')]);
  t.is(result.code, 1);
  t.regex(result.stderr, /ERR_ENCODE_REFUSED/);
  t.false(result.stderr.includes('TOPSECRET'));
  t.false(result.stdout.includes('TOPSECRET'));
  const leftovers = (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.tmp'));
  t.deepEqual(leftovers, []);
});

test('a template written with a chosen mode gets exactly that mode', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/a.hbs': '---\nmode: "0640"\n---\n{{secret "app/secret_key"}}' });
  t.teardown(cleanup);
  await chmod(dir, 0o755);
  t.is((await runCli(['once', '--config', join(dir, 'secrets-agent.yaml')])).code, 0);
  t.is((await stat(join(dir, 'out/a'))).mode & 0o777, 0o640);
});
