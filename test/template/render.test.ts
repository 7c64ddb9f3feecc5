import { parseEnv } from 'node:util';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { isAgentError } from '../../agent/errors.js';
import { render } from '../helpers/render.js';

const table = {
  'app/secret_key': 'x\nEVIL=1',
  'exchange/binance/api_key': 'k"ey\'with\\both',
  'exchange/binance': { api_key: 'k1', api_secret: 's1', testnet: 'true' },
  'database/postgres': { password: 'p w', user: 'dsta' },
  'plain/token': 'abc123',
  'odd/value': 'it\'s "x" #1',
};

test('an escaped value in a dotenv file stays one value: no injected key', (t) => {
  const output = render('A={{secret "app/secret_key"}}\nB=after\n', table);
  t.deepEqual(parseEnv(output), { A: 'x\nEVIL=1', B: 'after' });
});

test('a raw value that would inject a key is caught by the parse-back check and nothing is returned', (t) => {
  const error = t.throws(() => render('A={{{secret "app/secret_key"}}}\nB=after\n', table));
  t.true(isAgentError(error, 'ERR_OUTPUT_INVALID'));
  t.regex(error.message, /^templates\/app\.env\.hbs: the output has 3 assignments where the template wrote 2/);
  t.false(error.message.includes('EVIL'));
});

test('a value dotenv cannot carry is refused with file, line and path, and the advice', (t) => {
  const error = t.throws(() => render('A=1\nB={{secret "odd/value"}}\n', table));
  t.true(isAgentError(error, 'ERR_ENCODE_REFUSED'));
  t.regex(error.message, /^templates\/app\.env\.hbs:2: secret "odd\/value": cannot be written as dotenv: /);
  t.false(error.message.includes('"x"'));
});

test('the same value is fine in shell format', (t) => {
  const output = render('B={{secret "exchange/binance/api_key"}}\n', table, { name: 'app.sh.hbs' });
  t.is(output, 'B="k\\"ey\'with\\\\both"\n');
});

test('JSON values are complete JSON strings and the output must parse', (t) => {
  const output = render('{"key": {{secret "exchange/binance/api_key"}}, "k": {{secret "app/secret_key"}} }', table, { name: 'c.json.hbs' });
  t.deepEqual(JSON.parse(output), { key: 'k"ey\'with\\both', k: 'x\nEVIL=1' });
  const error = t.throws(() => render('{"key": "{{{secret "exchange/binance/api_key"}}}"}', table, { name: 'c.json.hbs' }));
  t.true(isAgentError(error, 'ERR_OUTPUT_INVALID'));
  t.false(error.message.includes('k"ey'));
});

test('YAML values are complete double-quoted scalars', (t) => {
  const output = render('a: {{secret "exchange/binance/api_key"}}\nb: {{secret "app/secret_key"}}\n', table, { name: 'c.yaml.hbs' });
  t.deepEqual(parseYaml(output), { a: 'k"ey\'with\\both', b: 'x\nEVIL=1' });
});

test('raw format writes values as they are, escaped or not', (t) => {
  t.is(render('{{secret "app/secret_key"}}|{{{secret "app/secret_key"}}}', table, { name: 'key.pem.hbs' }), 'x\nEVIL=1|x\nEVIL=1');
});

test('a missing secret names file, line and path and the backends tried', (t) => {
  const error = t.throws(() => render('A=1\n\nB={{secret "exchange/kraken/api_key"}}\n', table));
  t.true(isAgentError(error, 'ERR_SECRET_NOT_FOUND'));
  t.is(error.message, 'templates/app.env.hbs:3: secret "exchange/kraken/api_key": not found (tried file)');
});

test('default= is used only when the secret is missing', (t) => {
  t.is(render('A={{secret "plain/token" default="d"}}\nB={{secret "plain/none" default=""}}\n', table), "A='abc123'\nB=''\n");
});

test('secrets iterates every key; envName makes assignment keys', (t) => {
  const output = render('{{#each (secrets "database/postgres")}}PG_{{envName @key}}={{this}}\n{{/each}}', table);
  t.deepEqual(parseEnv(output), { PG_PASSWORD: 'p w', PG_USER: 'dsta' });
});

test('a raw key that is a valid name passes the parse-back check', (t) => {
  const output = render('{{#each (secrets "database/postgres")}}{{{upper @key}}}={{this}}\n{{/each}}', table);
  t.deepEqual(parseEnv(output), { PASSWORD: 'p w', USER: 'dsta' });
});

test('exchange returns every key and requires api_key and api_secret', (t) => {
  const output = render('{{#with (exchange "binance")}}K={{api_key}}\nS={{api_secret}}\nT={{testnet}}\n{{/with}}', table);
  t.deepEqual(parseEnv(output), { K: 'k1', S: 's1', T: 'true' });
  const error = t.throws(() => render('{{#with (exchange "gateio")}}{{/with}}', { 'exchange/gateio': { api_key: 'k' } }));
  t.regex(error.message, /exchange "gateio": exchange\/gateio has no api_secret/);
});

test('env reads the agent environment, with a default', (t) => {
  t.is(render('H={{env "HOSTNAME"}}\nR={{env "REGION" default="eu"}}\n', {}, { env: { HOSTNAME: 'pod-1' } }), "H='pod-1'\nR='eu'\n");
  t.regex(t.throws(() => render('H={{env "NOPE"}}', {})).message, /:1: env "NOPE": the variable is not set/);
});

test('strict mode: an undefined name is an error that never quotes the object it was looked up in', (t) => {
  const error = t.throws(() => render('{{#with (secret "plain/token")}}{{nope}}{{/with}}', table, { name: 'x.txt.hbs' }));
  t.true(isAgentError(error, 'ERR_TEMPLATE_RENDER'));
  t.regex(error.message, /:1: nope has no value/);
  t.false(error.message.includes('abc123'));
});

test('prototype properties are not reachable from templates: refused with the line when the template is loaded', (t) => {
  const error = t.throws(() => render('{{#with (secrets "database/postgres")}}{{constructor.name}}{{/with}}', table, { name: 'x.txt.hbs' }));
  t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'));
  t.regex(error.message, /^templates\/x\.txt\.hbs:1: "constructor" is a prototype property/);
});

test('a dotted path with a missing middle names the part it cannot reach, not a JavaScript TypeError', (t) => {
  const error = t.throws(() => render('{{#with (secrets "database/postgres")}}{{nope.deeper.still}}{{/with}}', table, { name: 'x.txt.hbs' }));
  t.true(isAgentError(error, 'ERR_TEMPLATE_RENDER'));
  t.regex(error.message, /a dotted path cannot reach "deeper"|"deeper" is not defined|nope/);
  t.false(error.message.includes('Cannot read properties'));
});

test('explicit encoders and string helpers', (t) => {
  const output = render('{"a": {{json (upper (secret "plain/token"))}}, "b": {{base64 (secret "plain/token")}}, "c": {{base64Decode "aGk="}}, "d": {{lower "AB"}} }', table, { name: 'c.json.hbs' });
  t.deepEqual(JSON.parse(output), { a: 'ABC123', b: 'YWJjMTIz', c: 'hi', d: 'ab' });
});

test('a map where a value belongs is an error naming the helper', (t) => {
  const error = t.throws(() => render('A={{secrets "exchange/binance"}}', table));
  t.regex(error.message, /:1: secrets "exchange\/binance" is a map, not a value/);
});

test('a lone surrogate is refused in every format, raw included, naming template, line and path but not the value', (t) => {
  // On main, format raw wrote it as U+FFFD (another secret) and exited 0; so did {{{x}}} in JSON and YAML.
  const lone = { 'app/lone': 'Zq7Marker\ud800Zq7Marker' };
  for (const [source, name] of [
    ['x\n{{secret "app/lone"}}', 'key.pem.hbs'],
    ['x\n{{{secret "app/lone"}}}', 'key.pem.hbs'],
    ['{\n"a": "{{{secret "app/lone"}}}"}', 'c.json.hbs'],
    ['a: 1\nb: {{{secret "app/lone"}}}\n', 'c.yaml.hbs'],
    ['A=1\nB={{{secret "app/lone"}}}\n', 'app.env.hbs'],
    ['A=1\nB={{secret "app/lone"}}\n', 'app.sh.hbs'],
  ] as const) {
    const error = t.throws(() => render(source, lone, { name }), undefined, `${name}: ${source}`);
    t.true(isAgentError(error, 'ERR_ENCODE_REFUSED'), `${name}: ${error.message}`);
    t.true(error.message.startsWith(`templates/${name}:2: secret "app/lone": `), error.message);
    t.regex(error.message, /unpaired UTF-16 surrogate/);
    t.false(error.message.includes('Zq7Marker'));
  }
});
