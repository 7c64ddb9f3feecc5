import test from 'ava';
import type { ExecutionContext } from 'ava';
import { chmod } from 'node:fs/promises';
import { loadConfig } from '../../agent/config/load.js';
import type { LoadConfigInput } from '../../agent/config/load.js';
import { AgentError, isAgentError } from '../../agent/errors.js';
import { tempDir, writeIn } from './_files.js';

/** Load and return the AgentError it must throw. */
async function failure(t: ExecutionContext, input: LoadConfigInput): Promise<AgentError> {
  return t.throwsAsync(loadConfig(input), { instanceOf: AgentError });
}

test('an unknown key names the key and suggests the closest valid one', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'vault:\n  adress: https://vault:8200\n');
  const error = await failure(t, { file, env: {}, cwd: '/' });
  t.is(error.code, 'ERR_CONFIG_INVALID');
  t.is(error.exitCode, 78);
  t.true(error.message.includes('unknown key "vault.adress" - did you mean "vault.address"?'), error.message);
  t.true(error.message.includes(`${file}:2:3`), 'names the file, line and column');
});

test('a key at the wrong level or in snake_case is pointed to where it belongs', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'address: https://vault:8200\nvault: { tls_skip_verify: true }\nlog: { levle: info }\n');
  const { message } = await failure(t, { file, env: {}, cwd: '/' });
  t.true(message.includes('unknown key "address" - did you mean "vault.address"?'), message);
  t.true(message.includes('unknown key "vault.tls_skip_verify" - did you mean "vault.tlsSkipVerify"?'), message);
  t.true(message.includes('unknown key "log.levle" - did you mean "log.level"?'), message);
});

test('a key far from every valid one gets no guess but the list of valid keys', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'log: { colour: true }\n');
  const { message } = await failure(t, { file, env: {}, cwd: '/' });
  t.true(message.includes('unknown key "log.colour" (valid keys here: level, format, audit)'), message);
  t.false(message.includes('did you mean'));
});

test('every problem is listed at once, one per line, each with its key and source', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', [
    'backend: vualt',
    'splay: 30',
    'vault: { timeout: 10sec }',
    'listen: "localhost"',
    'chain: [vault, env, vault]',
    'wait: { min: 5s, max: 1s }',
  ].join('\n'));
  const error = await failure(t, { file, env: { SECRETS_AGENT_LOG_FORMAT: 'xml' }, flags: { logLevel: 'loud' }, cwd: '/' });
  const lines = error.message.split('\n');
  t.regex(lines[0] ?? '', /^invalid configuration \(config file .*agent\.yaml\): 8 problems$/);
  const expectations: [string, RegExp][] = [
    ['backend', new RegExp(`^  ${file}:1:1: backend: expected one of "auto" \\| "vault" \\| "aws" \\| "file" \\| "env", got another string - did you mean "vault"\\?$`)],
    ['splay', /:2:1: splay: expected a string \(a duration with a unit, such as "30s"\), got a number$/],
    ['vault.timeout', /:3:10: vault\.timeout: expected a duration such as "30s": unknown unit/],
    ['listen', /:4:1: listen: expected host:port/],
    ['chain', /:5:21: chain\[2\]: "vault" is listed more than once$/],
    ['wait', /:6:9: wait\.min: min must not be greater than max$/],
    ['log.format', /^ {2}env SECRETS_AGENT_LOG_FORMAT: log\.format: expected one of "json" \| "pretty", got another string$/],
    ['log.level', /^ {2}flag --log-level: log\.level: expected one of "trace" \| .* \| "silent", got another string$/],
  ];
  t.is(lines.length, 1 + expectations.length, error.message);
  for (const [name, pattern] of expectations) t.true(lines.some((line) => pattern.test(line)), `${name}:\n${error.message}`);
});

test('problems from env vars name the variable, with expected and got', async (t) => {
  const error = await failure(t, { env: { SECRETS_AGENT_VAULT_AUTH: 'aprole', SECRETS_AGENT_SCHEDULE: '* * *', VAULT_ADDR: 'vault:8200' }, cwd: '/' });
  t.regex(error.message, /env SECRETS_AGENT_VAULT_AUTH: vault\.auth\.method: expected one of "token" \| "approle" \| "kubernetes", got another string - did you mean "approle"\?/);
  t.regex(error.message, /env SECRETS_AGENT_SCHEDULE: schedule: expected a cron expression of 5 or 6 fields .*, got 3 fields/);
  t.regex(error.message, /env VAULT_ADDR: vault\.address: expected an absolute http:\/\/ or https:\/\/ URL/);
});

test('a required key that no source set is reported as not set', async (t) => {
  const error = await failure(t, { env: { SECRETS_AGENT_VAULT_AUTH: 'approle' }, cwd: '/' });
  t.regex(error.message, /not set: vault\.auth\.roleIdFile: required when vault\.auth\.method is "approle"/);
  t.regex(error.message, /not set: vault\.auth\.secretIdFile: required when vault\.auth\.method is "approle"/);
});

test('a pinned backend without its settings is an error naming what to set', async (t) => {
  const error = await failure(t, { env: {}, flags: { backend: 'vault' }, cwd: '/' });
  t.regex(error.message, /flag --backend: backend: backend is "vault" but vault\.address \(VAULT_ADDR\) is not set/);
});

test('notifier problems are reported for the form the notifier is meant to be', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', [
    'notifiers:',
    '  app: { signal: SIGHUP }',
    '  both: { signal: SIGHUP, touch: /x }',
    '  hook: { http: { url: "http://127.0.0.1/-/reload", methd: GET } }',
    '  nginx: { command: [], timeout: 30s }',
  ].join('\n'));
  const { message } = await failure(t, { file, env: {}, cwd: '/' });
  t.regex(message, /notifiers\.app: a signal notifier needs exactly one of "process" or "pidFile", got neither/);
  t.regex(message, /notifiers\.both: expected exactly one of "signal", "command", "http", "touch", got "signal" and "touch"/);
  t.regex(message, /unknown key "notifiers\.hook\.http\.methd" - did you mean "notifiers\.hook\.http\.method"\?/);
  t.regex(message, /notifiers\.nginx\.command: expected at least the program name/);
});

test('a token value never appears in an error message', async (t) => {
  const token = 'hvs.CAESIJ-very-secret-token-value';
  const dir = await tempDir(t);
  // The token sits in keys that are wrong in every way the formatter knows: wrong type, wrong enum, bad shape, unknown key.
  const file = await writeIn(dir, 'agent.yaml', [
    `backend: ${token}`,
    `listen: ${token}`,
    `splay: ${token}`,
    `schedule: ${token}`,
    `vault: { adress: ${token}, auth: { token: [${token}], mountPath: "/${token}/" } }`,
    `notifiers: { hook: { http: { url: ${token}, headers: { Authorization: [${token}] } } } }`,
  ].join('\n'));
  const error = await failure(t, { file, env: { VAULT_TOKEN: token, SECRETS_AGENT_VAULT_AUTH: token, SECRETS_AGENT_LOG_LEVEL: token }, cwd: '/' });
  t.true(error.message.split('\n').length > 8, error.message);
  t.false(error.message.includes(token), error.message);
  t.false(error.message.includes('CAESIJ'));
  t.false(JSON.stringify(error.details).includes(token));
  t.is(error.cause, undefined, 'the zod error (which holds inputs) is not attached');
});

test('a token never appears in a file syntax error either', async (t) => {
  const token = 'hvs.CAESIJ-very-secret-token-value';
  const dir = await tempDir(t);
  for (const [name, text] of [
    ['bad.json', `{"vault": {"auth": {"token": ${token}}}}`],
    ['bad2.json', `{"vault": {"auth": {"token": "${token}"}},}`],
    ['bad.yaml', `vault:\n  auth:\n    token: "${token}\\q"\n`],
    ['bad2.yaml', `vault:\n  auth: [${token}\n  x: 1\n`],
  ] as const) {
    const file = await writeIn(dir, name, text);
    const error = await failure(t, { file, env: {}, cwd: '/' });
    t.is(error.code, 'ERR_CONFIG_FILE', name);
    t.false(error.message.includes(token), error.message);
  }
});

test('a YAML syntax error names the file, line and column', async (t) => {
  const dir = await tempDir(t);
  const file = await writeIn(dir, 'agent.yaml', 'output: /secrets\nvault:\n  address: [https://vault:8200\nlisten: x\n');
  const error = await failure(t, { file, env: {}, cwd: '/' });
  t.is(error.code, 'ERR_CONFIG_FILE');
  t.is(error.exitCode, 78);
  t.regex(error.message, new RegExp(`^cannot parse config file ${file} as YAML at line \\d+, column \\d+: \\S`));
});

test('a JSON syntax error names the file, line and column', async (t) => {
  const dir = await tempDir(t);
  const trailingComma = await writeIn(dir, 'a.json', '{\n  "output": "/secrets",\n}\n');
  t.is((await failure(t, { file: trailingComma, env: {}, cwd: '/' })).message, `cannot parse config file ${trailingComma} as JSON at line 3, column 1: expected double-quoted property name`);
  const bareWord = await writeIn(dir, 'b.json', '{\n  "output": secrets\n}\n');
  t.is((await failure(t, { file: bareWord, env: {}, cwd: '/' })).message, `cannot parse config file ${bareWord} as JSON at line 2, column 13: unexpected character 's'`);
});

test('an unreadable or missing file, or one that is not a mapping, is ERR_CONFIG_FILE naming it', async (t) => {
  const dir = await tempDir(t);
  const missing = `${dir}/nope.yaml`;
  const notFound = await failure(t, { file: missing, env: {}, cwd: '/' });
  t.is(notFound.code, 'ERR_CONFIG_FILE');
  t.is(notFound.message, `cannot read config file ${missing}: it does not exist`);
  t.is((await failure(t, { file: dir, env: {}, cwd: '/' })).message, `cannot read config file ${dir}: it is a directory`);
  const list = await writeIn(dir, 'list.yaml', '- a\n- b\n');
  t.regex((await failure(t, { file: list, env: {}, cwd: '/' })).message, /must hold a mapping .* got a list$/);
  if (process.getuid?.() !== 0) {
    const locked = await writeIn(dir, 'locked.yaml', 'output: /x\n');
    await chmod(locked, 0o000);
    t.is((await failure(t, { file: locked, env: {}, cwd: '/' })).message, `cannot read config file ${locked}: permission denied`);
  }
  t.true(isAgentError(notFound, 'ERR_CONFIG_FILE'));
});
