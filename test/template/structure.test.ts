// Raw values must not add, remove or repeat keys in JSON and YAML (docs/templates.md "Validate before write"): the
// output must have exactly the keys of the template's placeholder render at every level, and no key twice.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { parse as parseYaml } from 'yaml';
import { isAgentError } from '../../agent/errors.js';
import { render } from '../helpers/render.js';
import type { SecretTable } from '../helpers/render.js';

/** Asserts the render fails with ERR_OUTPUT_INVALID at `line`, matching `what`, and never shows `value`. */
function refused(t: ExecutionContext, source: string, name: string, table: SecretTable, line: number, what: RegExp): string {
  // Why: every structure refusal must name the template line and never a byte of the value that caused it.
  const error = t.throws(() => render(source, table, { name }), undefined, source);
  t.true(isAgentError(error, 'ERR_OUTPUT_INVALID'), error.message);
  t.true(error.message.startsWith(`templates/${name}:${line}: `), error.message);
  t.regex(error.message, what);
  for (const value of Object.values(table)) {
    // Words the template itself holds (a key it wrote, such as "admin") may be named; the rest of the value never.
    if (typeof value === 'string') for (const part of value.split(/[^A-Za-z0-9]+/).filter((p) => p.length >= 5 && !source.includes(p))) t.false(error.message.includes(part), `leaks "${part}"`);
  }
  return error.message;
}

test('JSON: a raw value that closes its string and adds a second "admin" is refused, naming the key and the line', (t) => {
  // On main this wrote {"admin": false, "user": "bob", "admin": true, "x": ""}, which JSON.parse reads as admin: true.
  const message = refused(t, '{"admin": false,\n "user": "{{{secret "app/db/user"}}}"}', 'c.json.hbs', { 'app/db/user': 'bobby", "admin": true, "xtraa": "' }, 2, /at \$ the output holds the key "admin" twice/);
  t.regex(message, /\{\{\{secret "app\/db\/user"\}\}\} at line 2/);
});

test('JSON: a raw value that adds a key the template never wrote is refused without naming it', (t) => {
  const message = refused(t, '{"db": {"user": "{{{secret "app/db/user"}}}"}}', 'c.json.hbs', { 'app/db/user': 'bobby", "roles": "admin' }, 1, /at \$\.db the output has 1 key the template did not write/);
  t.false(message.includes('roles'));
});

test('JSON: a raw value that turns a scalar into an object or grows a list is refused', (t) => {
  refused(t, '{"a": {{{secret "x/v"}}} }', 'c.json.hbs', { 'x/v': '{"nested": 1}' }, 1, /at \$\.a the template wrote a single value but the output has a mapping/);
  refused(t, '{"a": [{{{secret "x/v"}}}]}', 'c.json.hbs', { 'x/v': '1, 2' }, 1, /at \$\.a the template wrote 1 items but the output has 2/);
});

test('JSON: a template that writes a key twice is refused too (JSON.parse would keep the last silently)', (t) => {
  const error = t.throws(() => render('{"a": 1, "a": 2}', {}, { name: 'c.json.hbs' }));
  t.true(isAgentError(error, 'ERR_OUTPUT_INVALID'));
  t.regex(error.message, /the template writes the key "a" twice/);
});

test('JSON: raw values that keep the structure still render: numbers, booleans, text inside a string', (t) => {
  const table = { 'db/port': '5432', 'db/tls': 'true', 'db/user': 'bob' };
  const output = render('{"port": {{{secret "db/port"}}}, "tls": {{{secret "db/tls"}}}, "dsn": "postgres://{{{secret "db/user"}}}@db"}', table, { name: 'c.json.hbs' });
  t.deepEqual(JSON.parse(output), { port: 5432, tls: true, dsn: 'postgres://bob@db' });
});

test('JSON: keys from a loop are compared as the values they are', (t) => {
  const output = render('{ {{#each (secrets "app/m")}}{{@key}}: {{this}}{{#unless @last}}, {{/unless}}{{/each}} }', { 'app/m': { alpha: '1', beta: '2' } }, { name: 'c.json.hbs' });
  t.deepEqual(JSON.parse(output), { alpha: '1', beta: '2' });
});

test('JSON: a raw value cannot supply JSON syntax the template lacks', (t) => {
  refused(t, '{ {{{secret "x/k"}}}: 1 }', 'c.json.hbs', { 'x/k': '"keyname"' }, 1, /with its values replaced by placeholders the template is not valid json, so a raw value such as \{\{\{secret "x\/k"\}\}\} is supplying JSON syntax/);
});

test('YAML: a raw value with a line break that adds a key is refused', (t) => {
  // On main, user: {{{x}}} with "bob\nrole: admin" wrote a document with a role key the template never had.
  const message = refused(t, 'admin: false\nuser: {{{secret "app/y"}}}\n', 'c.yaml.hbs', { 'app/y': 'bobby\nrole: admin' }, 2, /at \$ the output has 1 key the template did not write/);
  t.false(message.includes('role'));
  refused(t, 'admin: false\nuser: {{{secret "app/y"}}}\n', 'c.yaml.hbs', { 'app/y': 'bobby\nadmin: true' }, 2, /the output holds the key "admin" twice/);
});

test('YAML: a nested raw value that adds a key at the top is refused, naming the raw value inside', (t) => {
  refused(t, 'db:\n  user: {{{secret "app/y"}}}\nport: 1\n', 'c.yaml.hbs', { 'app/y': 'bobby\nextra: 1' }, 2, /at \$ the output has 1 key the template did not write - written by the raw value \{\{\{secret "app\/y"\}\}\} at line 2/);
  refused(t, 'db:\n  user: {{{secret "app/y"}}}\n', 'c.yaml.hbs', { 'app/y': 'bobby\n  extra: 1' }, 2, /at \$\.db the output has 1 key/);
});

test('YAML: keys that one reader sees as one ("1" and 1) count as a repeated key', (t) => {
  refused(t, '"1": a\nk: {{{secret "app/y"}}}\n', 'c.yaml.hbs', { 'app/y': 'bobby\n1: b' }, 2, /holds the key "1" twice/);
});

test('YAML: a raw alias, tag or second document is refused', (t) => {
  refused(t, 'base: &b {a: 1}\nk: {{{secret "app/y"}}}\n', 'c.yaml.hbs', { 'app/y': '*b' }, 2, /at \$\.k the template wrote a single value but the output has an alias/);
  refused(t, 'k: {{{secret "app/y"}}}\n', 'c.yaml.hbs', { 'app/y': '!!map {a: 1}' }, 1, /at \$\.k the template wrote a single value but the output has a mapping/);
  const error = t.throws(() => render('k: {{{secret "app/y"}}}\n', { 'app/y': 'bobby\n---\nk: 2' }, { name: 'c.yaml.hbs' }));
  t.true(isAgentError(error, 'ERR_OUTPUT_INVALID'));
});

test('YAML: raw values that keep the structure still render, and escaped values always do', (t) => {
  const table = { 'db/port': '5432', 'db/user': 'bob\nadmin: true', 'db/host': 'db.local' };
  const output = render('port: {{{secret "db/port"}}}\nhost: {{{secret "db/host"}}}\nuser: {{secret "db/user"}}\n', table, { name: 'c.yaml.hbs' });
  t.deepEqual(parseYaml(output), { port: 5432, host: 'db.local', user: 'bob\nadmin: true' });
});
