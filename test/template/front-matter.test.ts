import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { splitFrontMatter } from '../../agent/template/front-matter.js';

test('a template without front matter is all body', (t) => {
  t.deepEqual(splitFrontMatter('a.hbs', 'X={{secret "a/b"}}\n'), { meta: {}, body: 'X={{secret "a/b"}}\n', lineOffset: 0 });
});

test('front matter is parsed and the body line offset is counted', (t) => {
  const source = '---\ndestination: app.env\nmode: "0640"\nnotify: [app]\n---\nA=1\n';
  const split = splitFrontMatter('a.hbs', source);
  t.deepEqual(split.meta, { destination: 'app.env', mode: '0640', notify: ['app'] });
  t.is(split.body, 'A=1\n');
  t.is(split.lineOffset, 5);
});

test('an unknown front matter key is named with its line, the closest valid key and the valid keys', (t) => {
  const error = t.throws(() => splitFrontMatter('t/app.env.hbs', '---\nformat: dotenv\ndestinaton: x\n---\n'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_FRONT_MATTER'));
  t.is(error.message, 't/app.env.hbs:3: front matter: unknown key "destinaton" - did you mean "destination"? (valid keys: destination, mode, uid, gid, format, notify, backend, set)');
  t.is(isAgentError(error) ? error.details['line'] : undefined, 3);
});

test('an unquoted octal mode is refused with the advice to quote it, naming the line', (t) => {
  const error = t.throws(() => splitFrontMatter('a.hbs', '---\nmode: 0640\n---\n'));
  t.is(error.message, 'a.hbs:2: front matter: mode: 0640 is a YAML number, not a mode; quote it: mode: "0640"');
});

test('a front matter that is never closed names line 1', (t) => {
  const error = t.throws(() => splitFrontMatter('a.hbs', '---\ndestination: x\nA=1\n'));
  t.regex(error.message, /^a\.hbs:1: front matter opened with "---" is never closed/);
});

test('invalid YAML in the front matter names the file line', (t) => {
  const error = t.throws(() => splitFrontMatter('a.hbs', '---\ndestination: x\nmode: [\n---\n'));
  t.true(isAgentError(error, 'ERR_TEMPLATE_FRONT_MATTER'));
  t.regex(error.message, /^a\.hbs:\d+: front matter is not valid YAML/);
});

test('an unknown format is refused', (t) => {
  const error = t.throws(() => splitFrontMatter('a.hbs', '---\nformat: toml\n---\n'));
  t.regex(error.message, /format/);
});
