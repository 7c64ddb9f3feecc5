// Bounded templates (docs/templates.md "Limits"): size, nesting and expressions are refused by a linear scan before
// Handlebars parses anything, what Handlebars compiles is bounded once parsed; the work of a render and the size of
// its output are bounded while it runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { loadTemplates } from '../../agent/template/load.js';
import { prepare, render } from '../helpers/render.js';

/** Asserts `fn` throws ERR_TEMPLATE_LIMIT with a message matching `what`, within `ms`; returns the message. */
function limited(t: ExecutionContext, fn: () => unknown, what: RegExp, ms = 1000): string {
  // Why: a limit that takes seconds to hit protects nothing, so every refusal is also timed.
  const started = performance.now();
  const error = t.throws(fn);
  const took = performance.now() - started;
  t.true(isAgentError(error, 'ERR_TEMPLATE_LIMIT'), error.message);
  t.regex(error.message, what);
  t.true(took < ms, `took ${took.toFixed(0)} ms`);
  return error.message;
}

// The documented limits, written out so this test reads as the contract (and fails, not crashes, without them).
const MAX_TEMPLATE_BYTES = 1024 * 1024;
const MAX_NESTING = 64;
const MAX_EXPRESSIONS = 50_000;
const MAX_COMPILED_EXPRESSIONS = 2000;
const MAX_RENDER_STEPS = 200_000;

const ifs = (n: number): string => '{{#if true}}'.repeat(n) + 'x' + '{{/if}}'.repeat(n);

test('7,000 nested #if is refused in milliseconds, naming the line where level 65 opens', (t) => {
  // On main, 4,000 levels blocked the event loop for seconds and 7,000 for 40 s before any answer.
  const source = `---\nformat: raw\n---\nfirst\n${'{{#if true}}\n'.repeat(7000)}x${'{{/if}}'.repeat(7000)}`;
  const message = limited(t, () => prepare(source, 'deep.txt.hbs'), /^templates\/deep\.txt\.hbs:69: blocks nest deeper than 64 levels \(this one is level 65\)/, 200);
  t.regex(message, /flatten/);
});

test('64 levels are allowed, 65 are not, whatever the kind of block', (t) => {
  t.is(render(ifs(MAX_NESTING), {}, { name: 'x.txt.hbs' }), 'x');
  limited(t, () => prepare(ifs(MAX_NESTING + 1), 'x.txt.hbs'), /:1: blocks nest deeper than 64/);
  limited(t, () => prepare('{{#each list}}'.repeat(40) + '{{^if x}}'.repeat(25) + '{{/if}}'.repeat(25) + '{{/each}}'.repeat(40), 'x.txt.hbs'), /level 65/);
  limited(t, () => prepare('{{~#if a~}}'.repeat(65) + '{{~/if~}}'.repeat(65), 'x.txt.hbs'), /level 65/);
});

test('each {{else if}} of a chain nests in Handlebars, so a long chain counts as deep', (t) => {
  const chain = (n: number): string => `{{#if a}}1${Array.from({ length: n }, (_, i) => `{{else if b${i}}}${i}`).join('')}{{/if}}`;
  t.notThrows(() => prepare(chain(MAX_NESTING - 1), 'x.txt.hbs'));
  limited(t, () => prepare(chain(7000), 'x.txt.hbs'), /level 65/);
  // A plain {{else}} and {{^}} do not nest; closing the chain closes all of it.
  t.notThrows(() => prepare(`${chain(60)}${'{{#if a}}x{{else}}y{{/if}}{{#if a}}x{{^}}y{{/if}}'.repeat(100)}${chain(60)}`, 'x.txt.hbs'));
});

test('comments, escaped mustaches, raw blocks and strings are text to the scan, as they are to Handlebars', (t) => {
  const hidden = '{{#if x}}'.repeat(100);
  t.notThrows(() => prepare(`{{!-- ${hidden} }} --}}{{! ${'{{#'.repeat(100)} }}${'\\{{#if x}}'.repeat(100)}\nA=1\n`, 'x.txt.hbs'));
  // A raw block's content is text (the block itself is then refused as an unknown helper, not as too deep).
  const raw = t.throws(() => prepare(`{{{{raw}}}}${hidden}{{{{/raw}}}}`, 'x.txt.hbs'));
  t.true(isAgentError(raw, 'ERR_TEMPLATE_PARSE'), raw.message);
  t.notThrows(() => prepare(`{{env "HOME" default="${'{{#if}}'.repeat(100)}"}}`, 'x.txt.hbs'));
  // Closing tokens inside strings do not lower the count: the real nesting is seen.
  limited(t, () => prepare(`${'{{#if a}}{{env "HOME" default="{{/if}}"}}'.repeat(65)}${'{{/if}}'.repeat(65)}`, 'x.txt.hbs'), /level 65/);
  // An escaped mustache followed by a real one: \\{{ is a backslash and a real block.
  limited(t, () => prepare(`\\\\${ifs(65)}`, 'x.txt.hbs'), /level 65/);
});

test('sub-expressions nest 64 deep at most', (t) => {
  const nested = (n: number): string => `{{${'upper ('.repeat(n)}env "HOME"${')'.repeat(n)}}}`;
  t.notThrows(() => prepare(nested(MAX_NESTING), 'x.txt.hbs'));
  limited(t, () => prepare(nested(5000), 'x.txt.hbs'), /:1: sub-expressions nest deeper than 64/);
});

test('a template over 1 MiB is refused from its size; exactly 1 MiB is not', (t) => {
  limited(t, () => prepare('x'.repeat(MAX_TEMPLATE_BYTES + 1), 'x.txt.hbs'), /^templates\/x\.txt\.hbs: the template is 1048577 bytes, over the limit of 1 MiB/);
  limited(t, () => prepare('é'.repeat(MAX_TEMPLATE_BYTES / 2 + 1), 'x.txt.hbs'), /1048578 bytes/);
  t.is(render('x'.repeat(MAX_TEMPLATE_BYTES), {}, { name: 'x.txt.hbs' }).length, MAX_TEMPLATE_BYTES);
});

test('loadTemplates refuses an oversized file without reading it, and still loads the others', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sa-limits-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'big.txt.hbs'), 'x'.repeat(MAX_TEMPLATE_BYTES + 1));
  await writeFile(join(dir, 'ok.env.hbs'), 'A=1\n');
  const { templates, errors } = await loadTemplates(dir);
  t.deepEqual(templates.map((template) => template.name), ['ok.env.hbs']);
  t.is(errors.length, 1);
  t.true(isAgentError(errors[0], 'ERR_TEMPLATE_LIMIT'));
  t.regex(errors[0]?.message ?? '', /big\.txt\.hbs: the template is 1048577 bytes, over the limit of 1 MiB/);
});

test('50,000 references render; one expression more is refused before Handlebars parses anything', (t) => {
  t.timeout(120_000);
  // The design's figure: 50,000 references in one template (memory and time are measured by bench/cases/references.ts).
  const output = render('{{secret "a/b"}}\n'.repeat(MAX_EXPRESSIONS), { 'a/b': 'v' }, { name: 'x.txt.hbs' });
  t.is(output, 'v\n'.repeat(MAX_EXPRESSIONS));
  limited(t, () => prepare('{{env "HOME"}}\n'.repeat(MAX_EXPRESSIONS + 1), 'x.txt.hbs'), /:50001: more than 50000 \{\{\.\.\.\}\} expressions/);
  // Long expressions are no longer counted in characters: the 1 MiB file bounds them.
  t.notThrows(() => prepare(`{{env "HOME" default="${'d'.repeat(70_000)}"}}`, 'x.txt.hbs'));
});

test('what Handlebars compiles is bounded: 2,000 expressions in blocks or reading the context, naming the line', (t) => {
  // Inside a block every tag and reference is compiled: the block's 2 tags and 1,998 references are the limit.
  const block = (n: number): string => `A\n{{#if true}}\n${'{{secret "a/b"}}\n'.repeat(n)}{{/if}}\n`;
  t.is(render(block(MAX_COMPILED_EXPRESSIONS - 2), { 'a/b': 'v' }, { name: 'x.txt.hbs' }), `A\n${'v\n'.repeat(MAX_COMPILED_EXPRESSIONS - 2)}`);
  limited(t, () => prepare(block(MAX_COMPILED_EXPRESSIONS - 1), 'x.txt.hbs'), /^templates\/x\.txt\.hbs:2: more than 2000 expressions in blocks or reading the context/);
  // Top-level expressions that are not a helper call with literal arguments count too, each naming its own line;
  // their sub-expressions count as expressions.
  const lookups = `${'{{secret "a/b"}}\n'.repeat(5000)}${'{{lookup (secrets "m/n") "k"}}\n'.repeat(1000)}`;
  t.notThrows(() => prepare(lookups, 'x.txt.hbs'));
  limited(t, () => prepare(`${lookups}{{lookup (secrets "m/n") "k"}}\n`, 'x.txt.hbs'), /^templates\/x\.txt\.hbs:6001: more than 2000 expressions/);
  // A hostile expression of many calls, compiled, is stopped by the same count.
  limited(t, () => prepare(`{{#if true}}{{upper ${'(upper "a") '.repeat(20_000)}}}{{/if}}`, 'x.txt.hbs'), /:1: more than 2000 expressions/, 5000);
});

test('front matter over 16 KiB is refused before YAML parses it', (t) => {
  limited(t, () => prepare(`---\n${'# comment\n'.repeat(2000)}---\nA=1\n`, 'x.env.hbs'), /:1: the front matter is over the limit of 16 KiB/);
});

test('64 nested #each over two keys (2^64 iterations) stops at the render budget, naming the line', (t) => {
  const source = `A=1\n${'{{#each (secrets "m/n")}}'.repeat(64)}x{{/each}}${'{{/each}}'.repeat(63)}`;
  const message = limited(t, () => render(source, { 'm/n': { a: '1', b: '2' } }, { name: 'x.txt.hbs' }), new RegExp(`^templates/x\\.txt\\.hbs:2: the render takes more than ${MAX_RENDER_STEPS} helper calls and #each iterations`));
  t.regex(message, /loop over less/);
});

test('#each cannot write more than the output limit, however few its iterations', (t) => {
  const map = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, 'v']));
  const body = 'y'.repeat(2000);
  limited(t, () => render(`{{#each (secrets "m/n")}}${body}{{/each}}`, { 'm/n': map }, { name: 'x.txt.hbs' }), /:1: #each writes more than 1 MiB, the largest raw output/);
  limited(t, () => render(`{{#each (secrets "m/n")}}K{{@index}}=${'y'.repeat(300)}\n{{/each}}`, { 'm/n': map }, { name: 'x.env.hbs' }), /#each writes more than 128 KiB, the largest dotenv output/);
});

test('a large value written many times is stopped before it is encoded many times', (t) => {
  const big = 'v'.repeat(100_000);
  limited(t, () => render('{{secret "a/b"}}'.repeat(20), { 'a/b': big }, { name: 'x.txt.hbs' }), /the values written are more than 1 MiB/);
  limited(t, () => render('A={{secret "a/b"}}\nB={{secret "a/b"}}\n', { 'a/b': big }, { name: 'x.env.hbs' }), /:2: the values written are more than 128 KiB/);
});

test('the output of a parsed format is bounded before it is parsed: 128 KiB, and 10,000 YAML tokens', (t) => {
  limited(t, () => render(`A=${'x'.repeat(140_000)}\n`, {}, { name: 'x.env.hbs' }), /^templates\/x\.env\.hbs: the output is 140003 bytes, over the limit of 128 KiB for format dotenv/);
  t.notThrows(() => render(`${'k: v\n'.repeat(1)}${Array.from({ length: 1000 }, (_, i) => `k${i}: v\n`).join('')}`, {}, { name: 'x.yaml.hbs' }));
  limited(t, () => render(Array.from({ length: 3000 }, (_, i) => `k${i}: v\n`).join(''), {}, { name: 'x.yaml.hbs' }), /the YAML output has more than 10000 tokens/);
});
