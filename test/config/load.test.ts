import test from 'ava';
import { join } from 'node:path';
import { loadConfig } from '../../agent/config/load.js';
import { parseEnvBoolean } from '../../agent/config/sources.js';
import { tempDir, writeIn } from './_files.js';

test('with no file, env or flags the built-in defaults of docs/configuration.md apply', async (t) => {
  const config = await loadConfig({ env: {}, cwd: '/work' });
  t.is(config.templates, '/etc/secrets-agent/templates');
  t.is(config.output, '/secrets');
  t.is(config.backend, 'auto');
  t.deepEqual(config.chain, ['vault', 'aws', 'file', 'env']);
  t.is(config.vault.namespace, 'dsta');
  t.is(config.vault.mount, 'secret');
  t.is(config.vault.kvVersion, 'auto');
  t.is(config.vault.timeout, 10_000);
  t.is(config.vault.auth.method, 'token');
  t.is(config.vault.auth.jwtFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
  t.is(config.vault.address, undefined);
  t.deepEqual(config.aws, { prefix: '', versionStage: 'AWSCURRENT' });
  t.deepEqual(config.env, { prefix: '', map: {} });
  t.is(config.schedule, '*/5 * * * *');
  t.is(config.splay, 30_000);
  t.deepEqual(config.wait, { min: 0, max: 0 });
  t.deepEqual(config.retry, { min: 250, max: 60_000 });
  t.false(config.notifyOnStart);
  t.deepEqual(config.notifiers, {});
  t.is(config.listen, '127.0.0.1:9876');
  t.false(config.requireTmpfs);
  t.deepEqual(config.log, { level: 'info', format: 'json', audit: true });
});

test('precedence is defaults < file < env < flags, key by key', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', [
    'templates: /file/templates',
    'output: /file/out',
    'backend: file',
    'file: { path: /file/secrets.yaml }',
    'schedule: "0 * * * *"',
    'log: { level: debug, format: pretty }',
  ].join('\n'));
  const env = { SECRETS_AGENT_OUTPUT: '/env/out', SECRETS_AGENT_BACKEND: 'env', SECRETS_AGENT_LOG_LEVEL: 'warn' };
  const config = await loadConfig({ file, env, flags: { backend: 'file', logLevel: 'error' }, cwd: '/work' });
  t.is(config.templates, '/file/templates', 'file over default');
  t.is(config.schedule, '0 * * * *', 'file over default');
  t.is(config.output, '/env/out', 'env over file');
  t.is(config.backend, 'file', 'flag over env');
  t.is(config.log.level, 'error', 'flag over env over file');
  t.is(config.log.format, 'pretty', 'a sibling key of the file stays when env sets another');
  t.is(config.log.audit, true, 'a default fills what no source set');
});

test('a flag left undefined does not override the layers below it', async (t) => {
  const config = await loadConfig({ env: { SECRETS_AGENT_BACKEND: 'env' }, flags: { backend: undefined, templates: undefined }, cwd: '/' });
  t.is(config.backend, 'env');
  t.is(config.templates, '/etc/secrets-agent/templates');
});

test('the file comes from the file argument, else from SECRETS_AGENT_CONFIG relative to cwd', async (t) => {
  const dir = await tempDir(t);
  await writeIn(dir, 'from-env.yaml', 'output: /from-env');
  const other = await writeIn(dir, 'from-arg.yaml', 'output: /from-arg');
  const viaEnv = await loadConfig({ env: { SECRETS_AGENT_CONFIG: 'from-env.yaml' }, cwd: dir });
  t.is(viaEnv.output, '/from-env');
  const viaArg = await loadConfig({ file: other, env: { SECRETS_AGENT_CONFIG: 'from-env.yaml' }, cwd: dir });
  t.is(viaArg.output, '/from-arg');
});

test('a YAML file and the same config as JSON load to the same result', async (t) => {
  const dir = await tempDir(t);
  const yaml = await writeIn(dir, 'agent.yaml', [
    '# comment',
    'vault:',
    '  address: https://vault:8200',
    '  kvVersion: 2',
    '  timeout: 5s',
    'chain: [file, env]',
    'wait: { min: 1s, max: 5s }',
    'notifiers:',
    '  app: { signal: SIGHUP, process: gunicorn }',
    '  nginx: { command: [nginx, -s, reload], timeout: 30s }',
  ].join('\n'));
  const json = await writeIn(dir, 'agent.json', JSON.stringify({
    vault: { address: 'https://vault:8200', kvVersion: 2, timeout: '5s' },
    chain: ['file', 'env'],
    wait: { min: '1s', max: '5s' },
    notifiers: { app: { signal: 'SIGHUP', process: 'gunicorn' }, nginx: { command: ['nginx', '-s', 'reload'], timeout: '30s' } },
  }, null, 2));
  const fromYaml = await loadConfig({ file: yaml, env: {}, cwd: '/' });
  const fromJson = await loadConfig({ file: json, env: {}, cwd: '/' });
  t.deepEqual(fromYaml, fromJson);
  t.is(fromYaml.vault.kvVersion, 2);
  t.is(fromYaml.vault.timeout, 5_000);
  t.deepEqual(fromYaml.wait, { min: 1_000, max: 5_000 });
  t.deepEqual(fromYaml.notifiers['nginx'], { command: ['nginx', '-s', 'reload'], timeout: 30_000 });
  t.deepEqual(fromYaml.notifiers['app'], { signal: 'SIGHUP', process: 'gunicorn', all: false });
});

test('an empty config file means all defaults', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'empty.yaml', '# nothing configured yet\n');
  const config = await loadConfig({ file, env: {}, cwd: '/' });
  t.is(config.output, '/secrets');
});

test('relative paths in the file resolve against its directory, from env and flags against cwd', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'conf/agent.yaml', [
    'templates: ./templates',
    'file: { path: secrets.yaml }',
    'vault: { caCert: ../ca.pem, auth: { method: approle, roleIdFile: role-id, secretIdFile: /abs/secret-id } }',
    'notifiers: { mark: { touch: out/.changed }, app: { signal: SIGHUP, pidFile: run/app.pid } }',
  ].join('\n'));
  const config = await loadConfig({
    file,
    env: { SECRETS_AGENT_OUTPUT: 'out', VAULT_TOKEN_FILE: 'token' },
    flags: { templates: 'tpl' },
    cwd: '/srv/app',
  });
  const conf = join(dir, 'conf');
  t.is(config.file.path, join(conf, 'secrets.yaml'));
  t.is(config.vault.caCert, join(dir, 'ca.pem'));
  t.is(config.vault.auth.roleIdFile, join(conf, 'role-id'));
  t.is(config.vault.auth.secretIdFile, '/abs/secret-id', 'absolute paths stay');
  t.deepEqual(config.notifiers['mark'], { touch: join(conf, 'out/.changed') });
  t.deepEqual(config.notifiers['app'], { signal: 'SIGHUP', pidFile: join(conf, 'run/app.pid') });
  t.is(config.output, '/srv/app/out', 'env path against cwd');
  t.is(config.vault.auth.tokenFile, '/srv/app/token', 'env path against cwd');
  t.is(config.templates, '/srv/app/tpl', 'flag path against cwd, over the file');
});

test('every environment variable of docs/configuration.md sets its key', async (t) => {
  const env = {
    SECRETS_AGENT_TEMPLATES: '/t', SECRETS_AGENT_OUTPUT: '/o', SECRETS_AGENT_BACKEND: 'vault',
    VAULT_ADDR: 'https://vault.example:8200', VAULT_NAMESPACE: 'team', SECRETS_AGENT_VAULT_MOUNT: 'kv',
    VAULT_CACERT: '/ca.pem', VAULT_CLIENT_CERT: '/c.pem', VAULT_CLIENT_KEY: '/k.pem', VAULT_SKIP_VERIFY: 'YES',
    SECRETS_AGENT_VAULT_AUTH: 'kubernetes', VAULT_TOKEN: 'hvs.token', VAULT_TOKEN_FILE: '/tok', SECRETS_AGENT_VAULT_ROLE: 'api-server',
    AWS_REGION: 'eu-west-1', SECRETS_AGENT_AWS_PREFIX: 'dsta/', SECRETS_AGENT_FILE: '/s.yaml', SECRETS_AGENT_ENV_PREFIX: 'DSTA_',
    SECRETS_AGENT_SCHEDULE: '0 */2 * * * *', SECRETS_AGENT_LISTEN: '0.0.0.0:9000', SECRETS_AGENT_LOG_LEVEL: 'trace', SECRETS_AGENT_LOG_FORMAT: 'pretty',
  };
  const config = await loadConfig({ env, cwd: '/' });
  t.like(config, {
    templates: '/t', output: '/o', backend: 'vault', schedule: '0 */2 * * * *', listen: '0.0.0.0:9000',
    vault: { address: 'https://vault.example:8200', namespace: 'team', mount: 'kv', caCert: '/ca.pem', clientCert: '/c.pem', clientKey: '/k.pem', tlsSkipVerify: true },
    aws: { region: 'eu-west-1', prefix: 'dsta/' },
    file: { path: '/s.yaml' },
    env: { prefix: 'DSTA_' },
    log: { level: 'trace', format: 'pretty' },
  });
  t.like(config.vault.auth, { method: 'kubernetes', token: 'hvs.token', tokenFile: '/tok', role: 'api-server', mountPath: 'kubernetes' });
});

test('AWS_REGION wins over AWS_DEFAULT_REGION, which is used when AWS_REGION is unset', async (t) => {
  t.is((await loadConfig({ env: { AWS_DEFAULT_REGION: 'us-west-2' }, cwd: '/' })).aws.region, 'us-west-2');
  t.is((await loadConfig({ env: { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'us-west-2' }, cwd: '/' })).aws.region, 'eu-central-1');
});

test('VAULT_NAMESPACE="" is kept as "" (no namespace header), distinct from unset', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'vault: { namespace: team }');
  t.is((await loadConfig({ env: {}, cwd: '/' })).vault.namespace, 'dsta', 'unset: the default');
  t.is((await loadConfig({ env: { VAULT_NAMESPACE: '' }, cwd: '/' })).vault.namespace, '');
  t.is((await loadConfig({ file, env: { VAULT_NAMESPACE: '' }, cwd: '/' })).vault.namespace, '', '"" overrides the file too');
  t.is((await loadConfig({ file, env: { VAULT_NAMESPACE: undefined }, cwd: '/' })).vault.namespace, 'team');
});

test('an empty string disables the listener; other empty variables count as unset', async (t) => {
  const config = await loadConfig({ env: { SECRETS_AGENT_LISTEN: '', VAULT_ADDR: '', SECRETS_AGENT_BACKEND: '', SECRETS_AGENT_OUTPUT: '' }, cwd: '/' });
  t.is(config.listen, '');
  t.is(config.vault.address, undefined);
  t.is(config.backend, 'auto');
  t.is(config.output, '/secrets');
});

test('VAULT_SKIP_VERIFY is true only for true, 1 and yes in any case', async (t) => {
  for (const text of ['true', 'TRUE', 'True', '1', 'yes', 'YES']) t.true(parseEnvBoolean(text), text);
  for (const text of ['false', '0', 'no', '', 'on', 'y', 't', ' true', 'truee', '2']) t.false(parseEnvBoolean(text), text);
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'vault: { tlsSkipVerify: true }');
  t.true((await loadConfig({ env: { VAULT_SKIP_VERIFY: 'Yes' }, cwd: '/' })).vault.tlsSkipVerify);
  t.false((await loadConfig({ file, env: { VAULT_SKIP_VERIFY: 'false' }, cwd: '/' })).vault.tlsSkipVerify, '"false" turns it off');
  t.false((await loadConfig({ file, env: { VAULT_SKIP_VERIFY: 'off' }, cwd: '/' })).vault.tlsSkipVerify, 'anything else is false');
  t.true((await loadConfig({ file, env: {}, cwd: '/' })).vault.tlsSkipVerify, 'unset keeps the file');
});

test('the auth mount path defaults to the method name', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'vault: { auth: { method: kubernetes, role: api, mountPath: k8s/prod } }');
  t.is((await loadConfig({ file, env: {}, cwd: '/' })).vault.auth.mountPath, 'k8s/prod');
  t.is((await loadConfig({ env: { SECRETS_AGENT_VAULT_AUTH: 'kubernetes', SECRETS_AGENT_VAULT_ROLE: 'api' }, cwd: '/' })).vault.auth.mountPath, 'kubernetes');
});

test('a $schema key for editors is accepted', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.json', JSON.stringify({ $schema: './config.schema.json', output: '/o' }));
  t.is((await loadConfig({ file, env: {}, cwd: '/' })).output, '/o');
});

test('YAML anchors and merge keys are understood; a duplicate key is a file error', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', [
    '_anchor: &reload { command: [kill, -HUP, "1"], timeout: 5s }',
    'notifiers:',
    '  a: *reload',
    '  b: { <<: *reload, timeout: 9s }',
  ].join('\n'));
  const error = await t.throwsAsync(loadConfig({ file, env: {}, cwd: '/' }));
  t.regex(error.message, /unknown key "_anchor"/, 'the anchor holder itself is still an unknown key');
  const clean = await writeIn(dir, 'clean.yaml', [
    'notifiers:',
    '  a: &reload { command: [kill, -HUP, "1"], timeout: 5s }',
    '  b: { <<: *reload, timeout: 9s }',
  ].join('\n'));
  const config = await loadConfig({ file: clean, env: {}, cwd: '/' });
  t.deepEqual(config.notifiers['b'], { command: ['kill', '-HUP', '1'], timeout: 9_000 });
  const duplicate = await writeIn(dir, 'dup.yaml', 'output: /a\noutput: /b\n');
  const dupError = await t.throwsAsync(loadConfig({ file: duplicate, env: {}, cwd: '/' }));
  t.regex(dupError.message, /^cannot parse config file .*dup\.yaml as YAML at line 2, column 1: /);
});
