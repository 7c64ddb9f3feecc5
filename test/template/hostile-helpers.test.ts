// Hostile uses of the helpers (docs/templates.md "Hostile templates", "Limits"): a value helper given a block, a
// repeated hash key, string helpers fed nothing or a map, and intermediate values that grow without being written.
// Each is refused with the file and line, never writing a value that skipped its encoder and the parse-back check.
import test from 'ava';
import { AgentError, isAgentError } from '../../agent/errors.js';
import { renderTemplate } from '../../agent/template/render.js';
import { prepare, render, tableLookup } from '../helpers/render.js';

const hostile = { 'a/b': 'x\nEVIL=1', 'm/n': { k1: 'y\nEVIL=2' }, u: 'bob", "admin": true, "x": "' };

test('a value helper given a block is refused when the template loads: its value would skip the encoder and the parse-back check', (t) => {
  // Handlebars appends a block helper's return value as it is, so `{{#secret}}` wrote the value raw, and the
  // placeholder render (which replaces only values passed to the encoders) wrote the real value too: nothing noticed.
  const blocks = [
    'A={{#secret "a/b"}}{{/secret}}\n',
    'A={{^secret "a/b"}}{{/secret}}\n',
    'A={{{{secret "a/b"}}}}{{{{/secret}}}}\n',
    'A={{#upper (secret "a/b")}}{{/upper}}\n',
    'A={{#lookup (secrets "m/n") "k1"}}{{/lookup}}\n',
    'A={{#if false}}{{else secret "a/b"}}{{/if}}\n',
  ];
  for (const source of blocks) {
    const error = t.throws(() => render(`---\nmode: "0600"\n---\n${source}`, hostile, { name: 'x.env.hbs' }), undefined, source);
    t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'), `${source}: ${error.message}`);
    t.regex(error.message, /^templates\/x\.env\.hbs:4: \{\{#\S+\}\} is not a block helper/, source);
    t.notRegex(error.message, /EVIL/);
  }
  const json = t.throws(() => render('{"user": "{{#secret "u"}}{{/secret}}"}', hostile, { name: 'x.json.hbs' }));
  t.true(isAgentError(json, 'ERR_TEMPLATE_PARSE'), json.message);
  // The block helpers still take blocks.
  t.is(render('{{#with (secrets "m/n")}}{{#each this}}{{#if this}}{{#unless false}}K={{envName @key}}{{/unless}}{{/if}}{{/each}}{{/with}}\n', { 'm/n': { k1: 'v' } }, { name: 'x.txt.hbs' }), 'K=K1\n');
});

test('a repeated hash key: the dependency fetched is the call rendered (Handlebars keeps the first value)', (t) => {
  const vault = prepare('{{#with (vault "pki/issue/x" ttl="1h" ttl="2h")}}{{c}}{{/with}}\n', 'x.txt.hbs');
  t.deepEqual(vault.dependencies.map((d) => d.path), ['PUT pki/issue/x ttl="1h"']);
  t.deepEqual(vault.dependencies[0]?.call?.params, { ttl: '1h' });
  // Only what the dependency names is fetched: rendering must read exactly that.
  const fetched = Object.fromEntries(vault.dependencies.map((d) => [d.path, { c: 'C' }]));
  t.is(renderTemplate(vault, { lookup: tableLookup(fetched), env: {} }), 'C\n');
  const secret = prepare('{{secret "a/b" backend="vault" backend="aws"}}\n', 'x.txt.hbs');
  t.deepEqual(secret.dependencies.map((d) => d.backend), ['vault']);
  const seen: Array<string | undefined> = [];
  renderTemplate(secret, { lookup: (_ref, backend) => (seen.push(backend), { status: 'found', data: 'v' }), env: {} });
  t.deepEqual(seen, ['vault']);
});

test('a string helper given no value or a map is an error naming the helper, not "UNDEFINED" or "[object Object]" in the file', (t) => {
  const table = { 'm/n': { k1: 'v' } };
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ['A={{upper (lookup (secrets "m/n") "typo")}}\n', /:1: upper: its argument has no value/],
    ['A={{#each (secrets "m/n")}}{{base64 @nope}}{{/each}}\n', /:1: base64: its argument has no value/],
    ['A={{json (secrets "m/n")}}\n', /:1: json: its argument is a map, not a value/],
    ['A={{lower (secrets "m/n")}}\n', /:1: lower: its argument is a map, not a value/],
    ['A={{envName}}\n', /:1: envName takes one argument/],
  ];
  for (const [source, message] of cases) {
    const error = t.throws(() => render(source, table, { name: 'x.txt.hbs' }), undefined, source);
    t.true(error instanceof AgentError && error.code === 'ERR_TEMPLATE_RENDER', `${source}: ${error.message}`);
    t.regex(error.message, message, source);
  }
  // Numbers and booleans are values.
  t.is(render('{{upper 12}} {{upper true}} {{base64 (upper "a")}}', {}, { name: 'x.txt.hbs' }), '12 TRUE QQ==');
});

test('nested base64 cannot grow a value past every limit without writing it', (t) => {
  // Each base64 is 4/3 of its input: 40 nested calls on 10,000 characters held the event loop for 20 s and 2 GiB,
  // then failed without a line; a value that is only tested (`#if`) was never counted by the output limits.
  const nested = (n: number): string => `${'(base64 '.repeat(n)}"${'x'.repeat(10_000)}"${')'.repeat(n)}`;
  const error = t.throws(() => render(`---\nformat: raw\n---\n{{#if ${nested(30)}}}y{{/if}}\n`, {}, { name: 'x.txt.hbs' }));
  t.true(isAgentError(error, 'ERR_TEMPLATE_LIMIT'), error.message);
  t.regex(error.message, /^templates\/x\.txt\.hbs:4: string helpers are given more than 16 MiB/);
  // Written, not only tested: refused the same way, with its line.
  const written = t.throws(() => render(`---\nformat: raw\n---\nA\n{{${nested(40).slice(1, -1)}}}\n`, {}, { name: 'x.txt.hbs' }));
  t.true(isAgentError(written, 'ERR_TEMPLATE_LIMIT'), written.message);
  t.regex(written.message, /^templates\/x\.txt\.hbs:5: /);
  // A few levels are fine.
  t.is(render(`{{${nested(3).slice(1, -1)}}}`, {}, { name: 'x.txt.hbs' }).length, 23_712);
});

test('a block helper or lookup with the wrong number of arguments is refused at load, naming the line', (t) => {
  // At render Handlebars threw "#if requires exactly one argument", or a TypeError about lookupProperty, without a line.
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['{{#if}}x{{/if}}', 'if takes exactly one argument'],
    ['{{#unless true false}}x{{/unless}}', 'unless takes exactly one argument'],
    ['{{#with}}x{{/with}}', 'with takes exactly one argument'],
    ['{{#each}}x{{/each}}', 'each takes exactly one argument'],
    ['{{#if true}}{{else if}}x{{/if}}', 'if takes exactly one argument'],
    ['{{lookup (secrets "m/n")}}', 'lookup takes exactly two arguments'],
    ['{{#if (lookup)}}x{{/if}}', 'lookup takes exactly two arguments'],
  ];
  for (const [source, message] of cases) {
    const error = t.throws(() => prepare(`---\nmode: "0600"\n---\nA\n${source}\n`, 'x.txt.hbs'), undefined, source);
    t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'), `${source}: ${error.message}`);
    t.is(error.message, `templates/x.txt.hbs:5: ${message}`, source);
  }
});

test('default= must be a value: a missing name or a map is an error, not "undefined" or "[object Object]" in the file', (t) => {
  const table = { 'm/n': { k1: 'v' } };
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ['{{secret "x/y" default=nope}}', /:1: secret "x\/y": default= has no value/],
    ['{{env "NOPE" default=nope}}', /:1: env "NOPE": default= has no value/],
    ['{{secret "x/y" default=null}}', /:1: secret "x\/y": default= has no value/],
    ['{{secret "x/y" default=(secrets "m/n")}}', /:1: secret "x\/y": default= is a map, not a value/],
  ];
  for (const [source, message] of cases) {
    const error = t.throws(() => render(source, table, { name: 'x.txt.hbs' }), undefined, source);
    t.true(isAgentError(error, 'ERR_TEMPLATE_RENDER'), `${source}: ${error.message}`);
    t.regex(error.message, message, source);
  }
  t.is(render('{{secret "x/y" default=""}}|{{env "NOPE" default=3}}|{{#with (secrets "m/n")}}{{secret "x/y" default=k1}}{{/with}}', table, { name: 'x.txt.hbs' }), '|3|v');
});

test('a block helper used without a block is refused at load, naming the line', (t) => {
  // At render Handlebars threw "options.fn is not a function" or a TypeError about "apply", naming no line.
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['{{if true}}', 'if'],
    ['{{unless false}}', 'unless'],
    ['{{each (secrets "m/n")}}', 'each'],
    ['{{upper (with (secrets "m/n"))}}', 'with'],
    ['{{#if (each (secrets "m/n"))}}x{{/if}}', 'each'],
  ];
  for (const [source, name] of cases) {
    const error = t.throws(() => prepare(`---\nmode: "0600"\n---\nA\n${source}\n`, 'x.txt.hbs'), undefined, source);
    t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'), `${source}: ${error.message}`);
    t.is(error.message, `templates/x.txt.hbs:5: ${name} takes a block: write {{#${name} ...}}...{{/${name}}}`, source);
  }
});

test('a call whose name is a literal is refused at load, naming the line', (t) => {
  // `("x")` compiled lazily: the local path failed at the first render (Handlebars' "unknown helper", echoing the
  // literal), the worker path at load; `{{"x" "y"}}` dropped "y" and wrote "x".
  for (const source of ['{{upper ("x")}}', '{{#if (12)}}x{{/if}}', '{{"x" "y"}}', '{{{true k=1}}}']) {
    const error = t.throws(() => prepare(`---\nmode: "0600"\n---\nA\n${source}\n`, 'x.txt.hbs'), undefined, source);
    t.true(isAgentError(error, 'ERR_TEMPLATE_PARSE'), `${source}: ${error.message}`);
    t.regex(error.message, /^templates\/x\.txt\.hbs:5: a literal is not a helper: /, source);
  }
  t.is(render('{{"x"}} {{{12}}} {{true}}', {}, { name: 'x.txt.hbs' }), 'x 12 true');
});
