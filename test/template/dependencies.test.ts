import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { prepare } from '../helpers/render.js';

test('dependencies are read from the AST with their helper, backend, default and file line', (t) => {
  const template = prepare([
    '---',
    'destination: x.env',
    '---',
    'A={{secret "app/secret_key"}}',
    'B={{upper (secret "exchange/binance/api_key" backend="vault")}}',
    '{{#each (secrets "database/postgres")}}{{envName @key}}={{this}}',
    '{{/each}}{{#with (exchange "gateio")}}K={{api_key}}{{/with}}',
    'H={{env "HOSTNAME" default="localhost"}}',
    'S={{secret "monitoring/sentry_dsn" default=""}}',
  ].join('\n'));
  t.deepEqual(template.dependencies.map((d) => [d.helper, d.path, d.backend, d.hasDefault, d.line]), [
    ['secret', 'app/secret_key', undefined, false, 4],
    ['secret', 'exchange/binance/api_key', 'vault', false, 5],
    ['secrets', 'database/postgres', undefined, false, 6],
    ['exchange', 'exchange/gateio', undefined, false, 7],
    ['env', 'HOSTNAME', undefined, true, 8],
    ['secret', 'monitoring/sentry_dsn', undefined, true, 9],
  ]);
});

test('a secret path that is not a string literal is refused with file and line', (t) => {
  const error = t.throws(() => prepare('A=1\n{{#each list}}{{secret this}}{{/each}}\n'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_DYNAMIC_PATH'));
  t.regex(error.message, /^templates\/app\.env\.hbs:2: secret takes exactly one string literal/);
});

test('a computed path through a sub-expression is refused too', (t) => {
  const error = t.throws(() => prepare('A={{secret (lower "APP/KEY")}}'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_DYNAMIC_PATH'));
});

test('a malformed path is refused before anything is fetched', (t) => {
  for (const path of ['../etc/passwd', 'a//b', '/a/b', 'a/b/', 'a b/c']) {
    const error = t.throws(() => prepare(`A={{secret "${path}"}}`), undefined, path);
    t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'), path);
  }
});

test('an unknown helper is named with the valid ones', (t) => {
  const error = t.throws(() => prepare('A={{secrett "a/b"}}'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'));
  t.regex(error.message, /:1: unknown helper "secrett" - valid helpers are secret, secrets/);
});

test('an unknown hash argument is refused', (t) => {
  const error = t.throws(() => prepare('A={{secret "a/b" defualt="x"}}'));
  t.regex(error.message, /secret does not take defualt= - it takes default=, backend=/);
});

test('a backend that does not exist is refused', (t) => {
  const error = t.throws(() => prepare('A={{secret "a/b" backend="consul"}}'));
  t.regex(error.message, /backend= must be one of/);
});

test('partials and decorators are refused: templates are self-contained', (t) => {
  t.regex(t.throws(() => prepare('{{> other}}')).message, /partials are not supported/);
  t.regex(t.throws(() => prepare('{{* deco}}')).message, /decorators are not supported/);
});

test('a block left open names the line that opened it and the closing tag to add', (t) => {
  const error = t.throws(() => prepare('---\nformat: raw\n---\nA=1\n{{#each (secrets "a/b")}}\nX={{this}}\n{{#if this}}y{{/if}}\n'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'));
  t.is(error.message, 'templates/app.env.hbs:5: {{#each}} opened on line 5 is never closed: add {{/each}} where the block ends');
});

test('broken Handlebars names the file line after the front matter', (t) => {
  const error = t.throws(() => prepare('---\nformat: raw\n---\nA=1\nB={{secret "a/b"\n'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'));
  t.regex(error.message, /^templates\/app\.env\.hbs:5: not valid Handlebars/);
});
