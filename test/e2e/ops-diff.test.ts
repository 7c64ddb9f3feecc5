// `check --diff` as an operator runs it: the built CLI fetches from the Vault emulator, renders in memory and
// names, per file, the keys or lines `once` would change - never a value, never a write.
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { runCli, scratch } from '../helpers/cli.js';
import { assertNoValues, awsEnv, vaultEnv } from '../cli/ops-world.js';

const first = { api_key: 'FIRST-binance-key-0000', api_secret: 'FIRST-binance-secret-1111' };
const second = { api_key: 'SECOND-binance-key-2222', api_secret: first.api_secret };
const values = [...Object.values(first), ...Object.values(second), 'PEM-body-line-3333', 'PEM-body-line-4444'];

const templates = {
  'templates/app.env.hbs': 'BINANCE_API_KEY={{secret "exchange/binance/api_key"}}\nBINANCE_API_SECRET={{secret "exchange/binance/api_secret"}}\nOLD={{secret "app/old"}}\n',
  'templates/config.json.hbs': '{"exchanges": {"binance": {"api_key": {{secret "exchange/binance/api_key"}}, "api_secret": {{secret "exchange/binance/api_secret"}} } } }\n',
  'templates/settings.yaml.hbs': 'binance:\n  key: {{secret "exchange/binance/api_key"}}\n',
  'templates/run.sh.hbs': 'SECRET={{secret "exchange/binance/api_secret"}}\n',
  'templates/key.pem.hbs': '-----BEGIN KEY-----\n{{secret "certs/key/body"}}\n-----END KEY-----\n',
};

async function world(t: import('ava').ExecutionContext): Promise<{ vault: Awaited<ReturnType<typeof startVaultEmulator>>; env: Record<string, string>; args: string[]; dir: string }> {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.setSecret('exchange/binance', first);
  vault.setSecret('app', { old: 'OLD-app-value-5555', new: 'NEW-app-value-6666' });
  vault.setSecret('certs/key', { body: 'PEM-body-line-3333' });
  const { dir, cleanup } = await scratch(templates);
  t.teardown(cleanup);
  return { vault, env: vaultEnv(vault.address, vault.token), args: ['--templates', join(dir, 'templates'), '--output', join(dir, 'out')], dir };
}

test('check --diff before the first render lists every key of every file as added and creates nothing', async (t) => {
  const { env, args, dir } = await world(t);
  const result = await runCli(['check', '--diff', ...args], { env });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^5 templates, \d+ dependencies/m, 'the usual check listing comes first');
  t.regex(result.stdout, /^app\.env\.hbs -> .*\/out\/app\.env: new file$/m);
  t.regex(result.stdout, /^ {2}\+ BINANCE_API_KEY \(added\)$/m);
  t.regex(result.stdout, /^ {2}\+ exchanges\.binance\.api_secret \(added\)$/m);
  t.regex(result.stdout, /^ {2}\+ lines 1-3 \(added\)$/m);
  t.regex(result.stdout, /^5 of 5 files would change$/m);
  t.deepEqual(await readdir(dir), ['templates'], 'no output directory was created');
  assertNoValues(t, result, [...values, 'OLD-app-value-5555'], 'check --diff');
});

test('check --diff names changed, added and removed keys and changed lines per file, values redacted, and writes nothing', async (t) => {
  const { vault, env, args, dir } = await world(t);
  t.is((await runCli(['once', ...args], { env })).code, 0);
  const before = await stat(join(dir, 'out/app.env'));
  vault.setSecret('exchange/binance', second);
  vault.setSecret('certs/key', { body: 'PEM-body-line-4444' });
  await writeFile(join(dir, 'templates/app.env.hbs'), 'BINANCE_API_KEY={{secret "exchange/binance/api_key"}}\nBINANCE_API_SECRET={{secret "exchange/binance/api_secret"}}\nNEW_KEY={{secret "app/new"}}\n');
  const result = await runCli(['check', '--diff', ...args], { env });
  t.is(result.code, 0, result.stderr);
  const section = result.stdout.slice(result.stdout.indexOf('diff against'));
  t.is(section.replace(/ -> \S+:/g, ' -> X:'), [
    `diff against ${join(dir, 'out')} (what once would write; values redacted, nothing written):`,
    'app.env.hbs -> X: 3 changes',
    '  ~ BINANCE_API_KEY (changed)',
    '  + NEW_KEY (added)',
    '  - OLD (removed)',
    'config.json.hbs -> X: 1 change',
    '  ~ exchanges.binance.api_key (changed)',
    'key.pem.hbs -> X: 1 change',
    '  ~ line 2 (changed)',
    'run.sh.hbs -> X: no changes',
    'settings.yaml.hbs -> X: 1 change',
    '  ~ binance.key (changed)',
    '4 of 5 files would change',
    '',
  ].join('\n'));
  const after = await stat(join(dir, 'out/app.env'));
  t.is(after.mtimeMs, before.mtimeMs, 'nothing written');
  t.true((await readFile(join(dir, 'out/app.env'), 'utf8')).includes(first.api_key));
  assertNoValues(t, result, [...values, 'OLD-app-value-5555', 'NEW-app-value-6666'], 'check --diff');
});

test('check --diff exits 1 when a template cannot render, and falls back to lines for a hand-edited file that no longer parses', async (t) => {
  const { env, args, dir } = await world(t);
  t.is((await runCli(['once', ...args], { env })).code, 0);
  await writeFile(join(dir, 'out/config.json'), '{ "hand": edited');
  await writeFile(join(dir, 'templates/run.sh.hbs'), 'SECRET={{secret "exchange/kraken/api_secret"}}\n');
  const result = await runCli(['check', '--diff', ...args], { env });
  t.is(result.code, 1);
  t.regex(result.stdout, /^config\.json\.hbs -> \S+: the current file does not parse as json; compared line by line$/m);
  t.regex(result.stdout, /^ {2}~ line 1 \(changed\)$/m);
  t.regex(result.stdout, /^run\.sh\.hbs -> \S+: cannot render: .*run\.sh\.hbs:1: secret "exchange\/kraken\/api_secret": not found/m);
  assertNoValues(t, result, values, 'check --diff with problems');
});

test('check --diff reads AWS-served secrets too, and names the key a new AWSCURRENT version changes', async (t) => {
  const aws = await startAwsEmulator();
  t.teardown(() => aws.close());
  aws.putSecret('dsta/exchange/gateio', { api_key: 'AWS-gateio-key-7777', api_secret: 'AWS-gateio-secret-8888' });
  const { dir, cleanup } = await scratch({ 'templates/gateio.env.hbs': 'GATEIO_API_KEY={{secret "exchange/gateio/api_key"}}\nGATEIO_API_SECRET={{secret "exchange/gateio/api_secret"}}\n' });
  t.teardown(cleanup);
  const args = ['--templates', join(dir, 'templates'), '--output', join(dir, 'out')];
  const env = awsEnv(aws.endpoint);
  t.is((await runCli(['once', ...args], { env })).code, 0);
  aws.putSecret('dsta/exchange/gateio', { api_key: 'AWS-gateio-key-7777', api_secret: 'AWS-gateio-secret-9999' });
  const result = await runCli(['check', '--diff', ...args], { env });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^gateio\.env\.hbs -> \S+: 1 change\n {2}~ GATEIO_API_SECRET \(changed\)$/m);
  assertNoValues(t, result, ['AWS-gateio-key-7777', 'AWS-gateio-secret-8888', 'AWS-gateio-secret-9999'], 'check --diff against AWS');
});
