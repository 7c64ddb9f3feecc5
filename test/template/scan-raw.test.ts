// The limits scan (agent/template/limits.ts) reads raw blocks as Handlebars' lexer does: `{{{{x}}}}` inside a raw
// block opens a nested one, and only the matching `{{{{/name}}}}` ends it. Ending at the first `{{{{/` let a nested raw
// block hide everything up to the next raw close from the scan: block nesting and expressions went uncounted, and
// Handlebars' parser (super-linear in nesting) met them unbounded.
import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { prepare, render } from '../helpers/render.js';

const nestedRaw = '{{{{if a}}}}{{{{b}}}}{{{{/b}}}}{{{{/if}}}}';

test('a nested raw block does not hide the blocks after it from the nesting limit', (t) => {
  const source = `x\n${nestedRaw}${'{{#if a}}'.repeat(65)}${nestedRaw}y${'{{/if}}'.repeat(65)}`;
  const error = t.throws(() => prepare(source, 'x.txt.hbs'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_LIMIT'), error.message);
  t.regex(error.message, /^templates\/x\.txt\.hbs:2: blocks nest deeper than 64 levels \(this one is level 65\)/);
});

test('sub-expressions in a raw block\'s open tag count toward the nesting limit', (t) => {
  const error = t.throws(() => prepare(`x\n{{{{if ${'(upper '.repeat(70)}"a"${')'.repeat(70)}}}}}y{{{{/if}}}}`, 'x.txt.hbs'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_LIMIT'), error.message);
  t.regex(error.message, /^templates\/x\.txt\.hbs:2: sub-expressions nest deeper than 64 levels/);
});

test('raw blocks still write their content as text, nested raw tags included', (t) => {
  t.is(render('{{{{if true}}}}{{{{b}}}}{{#x}}{{{{/b}}}}{{{{/ c}}}}{{{{/if}}}}|{{{{if true}}}}{{y}}{{{{/if}}}}', {}, { name: 'x.txt.hbs' }), '{{{{b}}}}{{#x}}{{{{/b}}}}{{{{/ c}}}}|{{y}}');
});
