// How migrate reads a .env and where each variable goes: the strict parser agrees with the real dotenv readers on
// the seed, the layout places every seed variable, and unknown names are listed rather than guessed.
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import test from 'ava';
import dotenv from 'dotenv';
import { isAgentError } from '../../agent/errors.js';
import { parseEnvText } from '../../agent/ops/env-file.js';
import { exchangesIn, parseOverrides, targetOf } from '../../agent/ops/env-map.js';
import { groupVariables } from '../../agent/ops/migrate-plan.js';
import { seedFile } from './ops-world.js';

const none = new Map();

test('the seed .env reads the same with migrate\'s strict parser as with npm dotenv and Node\'s parseEnv', async (t) => {
  const text = await readFile(seedFile, 'utf8');
  const ours = Object.fromEntries(parseEnvText(text, 'seed.env').map((variable) => [variable.name, variable.value]));
  t.deepEqual(ours, dotenv.parse(text));
  t.deepEqual(ours, parseEnv(text));
  t.is(Object.keys(ours).length, 23);
});

test('every variable of the seed goes to its place in the docs/design.md layout', async (t) => {
  const variables = parseEnvText(await readFile(seedFile, 'utf8'), 'seed.env');
  const { groups, unmapped, skipped } = groupVariables(variables, none, 'seed.env');
  t.deepEqual(Object.fromEntries([...groups].map(([secret, keys]) => [secret, [...keys.keys()]])), {
    app: ['secret_key'],
    'exchange/binance': ['api_key', 'api_secret', 'testnet'],
    'exchange/gateio': ['api_key', 'api_secret'],
    'exchange/kraken': ['api_key', 'api_secret', 'passphrase'],
    'database/postgres': ['host', 'port', 'user', 'password', 'database'],
    'database/redis': ['password'],
    monitoring: ['sentry_dsn'],
    notifications: ['slack_webhook_url', 'telegram_bot_token'],
  });
  t.deepEqual(unmapped, ['ENVIRONMENT', 'LOG_LEVEL', 'DEBUG', 'REDIS_HOST', 'TELEGRAM_CHAT_ID']);
  t.deepEqual(skipped, []);
});

test('an API key is an exchange credential only for a known exchange or next to its API secret; nothing else is guessed', (t) => {
  const exchanges = exchangesIn(['BINANCE_API_KEY', 'OPENAI_API_KEY', 'ACME_API_KEY', 'ACME_API_SECRET', 'ACME_PASSPHRASE', 'GITHUB_TOKEN']);
  t.deepEqual([...exchanges].sort(), ['ACME', 'BINANCE']);
  t.deepEqual(targetOf('BINANCE_API_KEY', exchanges, none), { secret: 'exchange/binance', key: 'api_key' });
  t.deepEqual(targetOf('ACME_PASSPHRASE', exchanges, none), { secret: 'exchange/acme', key: 'passphrase' });
  t.is(targetOf('OPENAI_API_KEY', exchanges, none), undefined);
  t.is(targetOf('GITHUB_TOKEN', exchanges, none), undefined);
  t.is(targetOf('_API_KEY', exchanges, none), undefined);
  t.deepEqual(targetOf('GATEIO_API_SECRET', exchangesIn(['GATEIO_API_SECRET']), none), { secret: 'exchange/gateio', key: 'api_secret' });
});

test('--map places, overrides and leaves out variables, and refuses what is not a <secret>/<key> path', (t) => {
  const overrides = parseOverrides('OPENAI_API_KEY: ai/openai/api_key\nBINANCE_API_KEY: exchange/binance-main/api_key\nDEBUG: false\n', 'map.yaml');
  const exchanges = exchangesIn(['BINANCE_API_KEY']);
  t.deepEqual(targetOf('OPENAI_API_KEY', exchanges, overrides), { secret: 'ai/openai', key: 'api_key' });
  t.deepEqual(targetOf('BINANCE_API_KEY', exchanges, overrides), { secret: 'exchange/binance-main', key: 'api_key' });
  t.is(targetOf('DEBUG', exchanges, overrides), null);
  t.deepEqual(parseOverrides('{"A": "x/y"}', 'map.json').get('A'), { secret: 'x', key: 'y' });
  t.is(parseOverrides('', 'empty.yaml').size, 0);
  for (const [text, message] of [
    ['A: single', /A: "single" is not <secret>\/<key>/],
    ['A: a//b', /A: "a\/\/b" is not <secret>\/<key>: the path has an empty segment/],
    ['A: 12', /A: expected a path such as exchange\/kraken\/api_key, or false/],
    ['- A', /must be one object of VARIABLE: secret\/path\/key/],
    ['"not a name": a/b', /not a variable name/],
    ['A: [', /not valid YAML or JSON/],
  ] as const) {
    const error = t.throws(() => parseOverrides(text, 'map.yaml'));
    t.true(isAgentError(error, 'ERR_MIGRATE_INPUT'));
    t.regex(error.message, message);
  }
});

test('two variables that land on one key are refused, naming both', (t) => {
  const variables = parseEnvText('BINANCE_API_KEY=FAKE-a-123456\nOTHER=FAKE-b-123456\n', '.env');
  const error = t.throws(() => groupVariables(variables, parseOverrides('OTHER: exchange/binance/api_key', 'map.yaml'), '.env'));
  t.regex(error.message, /BINANCE_API_KEY and OTHER both map to exchange\/binance\/api_key/);
});

test('the last assignment of a name counts, as in every dotenv reader, and the earlier lines are kept for the warning', (t) => {
  const variables = parseEnvText('A=1\nB=2\nA=3\n', '.env');
  t.deepEqual(variables.map(({ name, value, line, overridden }) => [name, value, line, overridden]), [['B', '2', 2, []], ['A', '3', 3, [1]]]);
});

test('CRLF line ends and a byte order mark are read; lines the dotenv readers disagree on are refused by line, never by value', (t) => {
  t.deepEqual(parseEnvText('\ufeffA=FAKE-one\r\nB="FAKE two"\r\n', '.env').map((variable) => variable.value), ['FAKE-one', 'FAKE two']);
  for (const [text, line] of [['A=ok\nB=FAKE-x#y\n', 2], ['A=${HOME}-FAKE\n', 1], ['A=ok\r\nB=x\rC=y\n', 2], ['  # indented\nA=1\n', 1]] as const) {
    const error = t.throws(() => parseEnvText(text, 'bad.env'));
    t.true(isAgentError(error, 'ERR_MIGRATE_INPUT'), text);
    t.true(error.message.startsWith(`migrate: bad.env: line ${line}: `), error.message);
    t.false(error.message.includes('FAKE'), 'the message never quotes the line');
  }
});
