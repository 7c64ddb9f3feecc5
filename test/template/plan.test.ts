// The render plan (agent/template/plan.ts) must write exactly what Handlebars' one compiled function writes: the
// reference here is the previous way, the whole rewritten program compiled by Handlebars, run through the same
// renderTemplate (encoders, validation, errors). Every template is rendered both ways and the outputs, or the errors,
// must be identical: whitespace control and standalone lines, comments, blocks between references, hash arguments,
// literals, sub-expressions, more statements than one compiled chunk holds, and error lines.
import test from 'ava';
import { AgentError } from '../../agent/errors.js';
import { prepareProgram } from '../../agent/template/ast.js';
import { compileOptions, createEngine, helperNames } from '../../agent/template/engine.js';
import { MAX_CHUNK_EXPRESSIONS, PIECE_EXPRESSIONS, scanTemplate } from '../../agent/template/limits.js';
import { splitFrontMatter } from '../../agent/template/front-matter.js';
import type { Template } from '../../agent/template/load.js';
import { countSegments, planProgram } from '../../agent/template/plan.js';
import { renderTemplate } from '../../agent/template/render.js';
import { prepare, tableLookup } from '../helpers/render.js';

const table = {
  'a/b': 'v1',
  'a/c': 'it\'s "q"',
  'm/n': { k1: 'x', k2: 'y z' },
};

const engine = createEngine();

/** The template as Handlebars alone renders it: one function compiled from the whole rewritten program. */
function reference(source: string, name: string): Template {
  const planned = prepare(source, name);
  const { body, lineOffset } = splitFrontMatter(planned.file, source);
  const program = engine.parse(body);
  prepareProgram(program, { file: planned.file, lineOffset, format: planned.format, helpers: helperNames });
  return { ...planned, run: engine.compile(program, compileOptions) };
}

function outcome(template: Template, env: Record<string, string>): string {
  try {
    return `ok ${JSON.stringify(renderTemplate(template, { lookup: tableLookup(table), env }))}`;
  } catch (error) {
    return error instanceof AgentError ? `${error.code} ${error.message}` : `thrown ${(error as Error).message}`;
  }
}

const many = Array.from({ length: 260 }, (_, i) => (i % 3 === 0 ? `{{#if true}}\nI${i}=1\n{{/if}}\n` : i % 3 === 1 ? `R${i}={{secret "a/b"}}\n` : `E${i}={{#each (secrets "m/n")}}{{@key}}{{/each}}\n`)).join('');

const cases: ReadonlyArray<{ what: string; name: string; source: string }> = [
  { what: 'references and text', name: 'x.env.hbs', source: 'A={{secret "a/b"}}\nB={{env "X" default="d"}}\nC={{env "HOME_SET"}}\n' },
  { what: 'standalone blocks around references', name: 'x.txt.hbs', source: '{{#each (secrets "m/n")}}\n{{@key}}={{this}}\n{{/each}}\nC={{secret "a/b"}}\n  {{#if false}}\n  B\n  {{else}}\n  E\n  {{/if}}\n{{^if false}}\nI\n{{/if}}\n' },
  { what: 'whitespace control at and between references', name: 'x.txt.hbs', source: 'A= {{~secret "a/b"~}}  \n  B={{secret "a/b"}}\n{{~#if true~}}\nX\n{{~/if}}  \n {{~env "X" default="d"}}|\n' },
  { what: 'comments, standalone and inline', name: 'x.txt.hbs', source: '{{! c }}\nA={{secret "a/b"}}\n  {{!-- x --}}  \nB=1 {{! y }} C\n{{~!-- z --~}}\nD\n' },
  { what: 'a repeated hash key keeps the first value', name: 'x.txt.hbs', source: '{{env "NOPE" default="1" default="2"}}|{{secret "x/y" default="a" backend="file" default="b"}}' },
  { what: 'hash values are evaluated last to first', name: 'x.txt.hbs', source: 'A\n{{upper "a" x=(env "NOPE_X") y=(env "NOPE_Y")}}\n' },
  { what: 'a repeated key evaluates only its first value', name: 'x.txt.hbs', source: '{{env "NOPE" default=(upper "first") default=(env "NOPE_2")}}|{{env "NOPE" default=(env "NOPE_3") default=(upper "x")}}' },
  { what: 'sub-expressions and explicit encoders', name: 'x.txt.hbs', source: '{{upper (secret "a/b")}} {{base64 (lower "ABC")}} {{envName "a-b"}} {{json (secret "a/c")}} {{base64Decode (base64 (upper (env "X" default="q")))}}' },
  { what: 'literals as values and arguments', name: 'x.txt.hbs', source: '{{"text"}} {{12}} {{true}} {{upper 12}} {{upper false}} {{{"raw"}}}' },
  { what: 'raw references', name: 'x.txt.hbs', source: '{{{secret "a/c"}}}|{{{upper (secret "a/b")}}}\n' },
  { what: 'more statements than one compiled chunk', name: 'x.txt.hbs', source: many },
  { what: 'a missing secret after front matter names the line', name: 'x.env.hbs', source: '---\nmode: "0640"\n---\nA={{secret "a/b"}}\n\nB={{secret "x/y"}}\n' },
  { what: 'a missing secret inside a block names the line', name: 'x.env.hbs', source: 'A={{secret "a/b"}}\n{{#if true}}\nB={{secret "x/y"}}\n{{/if}}\n' },
  { what: 'a map where a value is written', name: 'x.txt.hbs', source: 'A\n{{secrets "m/n"}}\n' },
  { what: 'a context lookup at the top level', name: 'x.txt.hbs', source: 'A={{secret "a/b"}}\n{{nothing}}\n' },
  { what: 'lookup of a key', name: 'x.txt.hbs', source: '{{lookup (secrets "m/n") "k2"}}|{{#with (secrets "m/n")}}{{k1}}{{/with}}' },
  { what: 'quotes a block writes around a value', name: 'x.env.hbs', source: '{{#if true}}A="{{/if}}{{secret "a/b"}}{{#if true}}"{{/if}}\n' },
  { what: 'a comment between a compiled statement and whitespace control', name: 'x.txt.hbs', source: '{{#if true}}{{/if}}a  {{! c }}{{~lookup (secrets "m/n") "k1"}}|{{lookup (secrets "m/n") "k2"~}}{{!-- c --}}  b\n  {{!-- c --}}{{~#if true}}x{{/if}}\n' },
  { what: 'a string helper given no value or a map', name: 'x.txt.hbs', source: 'A\n{{upper (lookup (secrets "m/n") "typo")}}|{{json (secrets "m/n")}}\n' },
  { what: 'a default= that has no value', name: 'x.txt.hbs', source: 'A={{env "HOME_SET" default=nope}}\nB={{secret "x/y" default=nope}}\n' },
  { what: 'nested base64 over the helper text limit', name: 'x.txt.hbs', source: `A\n{{upper ${'(base64 '.repeat(30)}"${'x'.repeat(10_000)}"${')'.repeat(30)}}}\n` },
  { what: 'a format whose values are parsed back', name: 'x.yaml.hbs', source: 'a: {{secret "a/c"}}\nm:\n{{#each (secrets "m/n")}}\n  {{@key}}: {{this}}\n{{/each}}\nb: {{upper (secret "a/b")}}\n' },
];

for (const { what, name, source } of cases) {
  test(`plan and Handlebars agree: ${what}`, (t) => {
    const env = { HOME_SET: 'h' };
    const planned = outcome(prepare(source, name), env);
    t.is(planned, outcome(reference(source, name), env));
    t.log(planned.slice(0, 160));
  });
}

/** The plan of a body, as load.ts makes it. */
function planOf(body: string): ReturnType<typeof planProgram> {
  const program = engine.parse(body);
  prepareProgram(program, { file: 'x', lineOffset: 0, format: 'dotenv', helpers: helperNames });
  return planProgram(program, { file: 'x', lineOffset: 0, interpreted: new Set(helperNames) });
}

test('references at the top level compile nothing; blocks compile in chunks of bounded size', (t) => {
  const refs = planOf('A={{secret "a/b"}}\n'.repeat(3000));
  t.is(refs.chunks.length, 0);
  t.is(countSegments(refs).call, 3000);
  // Each distinct literal is held once: the helper names, the path, the label and the text between the calls.
  t.deepEqual([...refs.literals].sort(), ['\nA=', 'A=', '__enc', 'a/b', 'secret', 'secret "a/b"', '\n'].sort());
  // 600 one-line blocks (2 tags and one reference each): no chunk holds more than MAX_CHUNK_EXPRESSIONS.
  const blocks = planOf('{{#if true}}{{secret "a/b"}}{{/if}}\n'.repeat(600));
  t.is(blocks.chunks.length, Math.ceil(600 / Math.floor(MAX_CHUNK_EXPRESSIONS / 3)));
  t.is(countSegments(blocks).chunk, blocks.chunks.length);
});

/** Lines that put whitespace control, standalone tags, comments, escapes and CR LF at every possible cut. */
const tricky = [
  'A{{secret "a/b"}}\n',
  '  {{#if true}}\n  X\n  {{/if}}\n',
  '{{~secret "a/b"}}\n',
  '{{secret "a/b"~}}\n  \n',
  '  {{! comment }}\n',
  '\\{{escaped}} {{secret "a/b"}}\n',
  '{{#each (secrets "m/n")}}\n{{@key}}\n{{/each}}\n',
  'C={{secret "a/c"}}\r\n',
  '   \n',
  '{{!-- long --~}}\n\n',
  '{{env "X" default="d"}}{{secret "a/b"}}\n\n\n',
  '    {{secret "a/b"}}\n',
];

test('a body parsed in pieces renders what the whole body renders, wherever the cuts fall', (t) => {
  for (let shift = 0; shift < tricky.length; shift += 1) {
    const lines = Array.from({ length: 2400 }, (_, i) => tricky[(i + shift) % tricky.length] ?? '');
    const source = lines.join('');
    t.true(scanTemplate('x', source, 0).splits.length >= 2, 'the body is cut');
    t.is(outcome(prepare(source, 'x.txt.hbs'), {}), outcome(reference(source, 'x.txt.hbs'), {}), `shift ${shift}`);
  }
});

test('an error in a later piece names the file line, front matter included', (t) => {
  const source = `---\nformat: raw\n---\n${'A={{secret "a/b"}}\n'.repeat(PIECE_EXPRESSIONS * 3)}B={{secret "x/y"}}\n`;
  t.true(scanTemplate('x', source, 0).splits.length >= 2);
  const planned = outcome(prepare(source, 'x.txt.hbs'), {});
  t.is(planned, `ERR_SECRET_NOT_FOUND templates/x.txt.hbs:${3 + PIECE_EXPRESSIONS * 3 + 1}: secret "x/y": not found (tried file)`);
  t.is(planned, outcome(reference(source, 'x.txt.hbs'), {}));
  const broken = `${'A={{secret "a/b"}}\n'.repeat(PIECE_EXPRESSIONS * 2)}{{#if}}\n`;
  const error = t.throws(() => prepare(broken, 'x.txt.hbs'));
  t.is(error.message, `templates/x.txt.hbs:${PIECE_EXPRESSIONS * 2 + 1}: {{#if}} opened on line ${PIECE_EXPRESSIONS * 2 + 1} is never closed: add {{/if}} where the block ends`);
});
