// Quotes around {{x}} (docs/templates.md "Quotes around {{x}} are refused"): {{x}} writes a complete literal with
// its own quoting, so quotes the template writes around it would be read as part of the value. Refused from the
// template text when it is loaded (nothing fetched), and at render for what the text alone does not show.
import { parseEnv } from 'node:util';
import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { prepare, render } from '../helpers/render.js';

const secret = 'S3cr3tV4lue';
const table = { 'app/k': secret, 'app/m': { a: '1', b: '2' } };
const advice = /drop the quotes: \{\{x\}\} quotes itself/;

/** Asserts `source` (in a template named `name`) is refused when loaded, naming file and line; returns the message. */
function refusedAtLoad(t: import('ava').ExecutionContext, source: string, name: string, line: number): string {
  // Why: prepare() alone proves the refusal comes before any secret is fetched.
  const error = t.throws(() => prepare(source, name), undefined, `${name}: ${source}`);
  t.true(isAgentError(error, 'ERR_TEMPLATE_QUOTED'), `${name}: ${source}: ${error.message}`);
  t.true(error.message.startsWith(`templates/${name}:${line}: `), error.message);
  t.regex(error.message, advice);
  return error.message;
}

test('dotenv: KEY="{{x}}", KEY=\'{{x}}\' and KEY=`{{x}}` are refused when the template is loaded', (t) => {
  // On main, A="{{secret "app/k"}}" wrote A="'value'" and exited 0: python-dotenv and util.parseEnv read 'value' WITH the quotes.
  t.regex(refusedAtLoad(t, 'X=1\nA="{{secret "app/k"}}"\n', 'app.env.hbs', 2), /\{\{secret "app\/k"\}\} is wrapped in " quotes/);
  refusedAtLoad(t, "A='{{secret \"app/k\"}}'\n", 'app.env.hbs', 1);
  refusedAtLoad(t, 'A=`{{secret "app/k"}}`\n', 'app.env.hbs', 1);
});

test('shell and docker: quotes around {{x}} are refused too', (t) => {
  refusedAtLoad(t, 'A="{{secret "app/k"}}"\n', 'app.sh.hbs', 1);
  refusedAtLoad(t, "A='{{secret \"app/k\"}}'\n", 'app.sh.hbs', 1);
  t.regex(refusedAtLoad(t, '---\nformat: docker\n---\nA="{{secret "app/k"}}"\n', 'app.hbs', 4), /docker --env-file has no quoting/);
  refusedAtLoad(t, "---\nformat: docker\n---\nA='{{secret \"app/k\"}}'\n", 'app.hbs', 4);
});

test('yaml and json: the value literal already has its quotes', (t) => {
  refusedAtLoad(t, 'a: 1\nc: "{{secret "app/k"}}"\n', 'c.yaml.hbs', 2);
  refusedAtLoad(t, "c: '{{secret \"app/k\"}}'\n", 'c.yaml.hbs', 1);
  refusedAtLoad(t, '{\n  "k": "{{secret "app/k"}}"\n}\n', 'c.json.hbs', 2);
  // A key from a loop is a value too: {{@key}} writes a complete JSON string.
  refusedAtLoad(t, '{ {{#each (secrets "app/m")}}"{{@key}}": {{this}}{{#unless @last}},{{/unless}}{{/each}} }', 'c.json.hbs', 1);
});

test('whitespace control and plain lookups count: {{~x~}} between quotes is still wrapped', (t) => {
  refusedAtLoad(t, '{{#with (secrets "app/m")}}A=" {{~a~}} "\n{{/with}}', 'app.env.hbs', 1);
  refusedAtLoad(t, '{{#each (secrets "app/m")}}K="{{this}}"\n{{/each}}', 'app.env.hbs', 1);
});

test('quotes the template text does not show are refused at render, before anything is returned', (t) => {
  // The quotes are outside the block that writes the value: only the placeholder render can see them.
  for (const [source, name] of [
    ['A="{{#if true}}{{secret "app/k"}}{{/if}}"\n', 'app.env.hbs'],
    ["A='{{#if true}}{{secret \"app/k\"}}{{/if}}'\n", 'app.sh.hbs'],
    ['---\nformat: docker\n---\nA="{{#if true}}{{secret "app/k"}}{{/if}}"\n', 'app.hbs'],
    ["c: '{{#if true}}{{secret \"app/k\"}}{{/if}}'\n", 'c.yaml.hbs'],
  ] as const) {
    t.notThrows(() => prepare(source, name), name);
    const error = t.throws(() => render(source, table, { name }), undefined, name);
    t.true(isAgentError(error, 'ERR_TEMPLATE_QUOTED'), `${name}: ${error.message}`);
    t.regex(error.message, /^templates\/[^:]+:\d+: \{\{secret "app\/k"\}\} is read with its own quotes/);
    t.regex(error.message, advice);
    t.false(error.message.includes(secret));
  }
});

test('a {{x}} joined to other text in one value is refused: its quotes would be part of the value', (t) => {
  // On main, url: https://{{x}} in YAML wrote url: https://"value" and dotenv U=pre{{x}} wrote U=pre'value'.
  for (const [source, name] of [
    ['url: https://{{secret "app/k"}}/x\n', 'c.yaml.hbs'],
    ['U=pre{{secret "app/k"}}\n', 'app.env.hbs'],
  ] as const) {
    const error = t.throws(() => render(source, table, { name }), undefined, name);
    t.true(isAgentError(error, 'ERR_TEMPLATE_QUOTED'), `${name}: ${error.message}`);
    t.regex(error.message, /:1: /);
    t.false(error.message.includes(secret));
  }
});

test('what is not a self-quoting {{x}} may stand in quotes: raw values, envName, literal text, and any quote in format raw', (t) => {
  t.deepEqual(parseEnv(render('{{#each (secrets "app/m")}}{{envName @key}}="{{{this}}}"\n{{/each}}', table)), { A: '1', B: '2' });
  t.deepEqual(JSON.parse(render('{ {{#each (secrets "app/m")}}"{{envName @key}}": {{this}}{{#unless @last}},{{/unless}}{{/each}} }', table, { name: 'c.json.hbs' })), { A: '1', B: '2' });
  t.is(render('say "{{secret "app/k"}}"', table, { name: 'note.txt.hbs' }), `say "${secret}"`);
  t.deepEqual(parseEnv(render('A="literal"\nB={{secret "app/k"}}\n', table)), { A: 'literal', B: secret });
  t.deepEqual(JSON.parse(render('{"k": {{secret "app/k"}}, "q": "\\"{{{secret "app/k"}}}\\""}', table, { name: 'c.json.hbs' })), { k: secret, q: `"${secret}"` });
});
