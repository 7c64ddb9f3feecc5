// The `set:` front matter key (docs/templates.md "Sets"): a name, carried onto the prepared template.
import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { splitFrontMatter } from '../../agent/template/front-matter.js';
import { prepareTemplate } from '../../agent/template/load.js';

test('set: names the set; the prepared template carries it, and a template without one has none', (t) => {
  t.deepEqual(splitFrontMatter('a.hbs', '---\nset: tls\n---\nx\n').meta, { set: 'tls' });
  t.is(prepareTemplate('t/cert.pem.hbs', 'cert.pem.hbs', '---\nset: tls-1.internal_a\n---\nx\n').set, 'tls-1.internal_a');
  t.is(prepareTemplate('t/app.env.hbs', 'app.env.hbs', 'A=1\n').set, undefined);
});

test('a set name that is not a plain name is refused with the line', (t) => {
  for (const bad of ['"../x"', '"a/b"', '""', '".hidden"', '[tls]', `"${'a'.repeat(64)}"`]) {
    const error = t.throws(() => splitFrontMatter('t/a.hbs', `---\nmode: "0600"\nset: ${bad}\n---\nx\n`));
    t.true(isAgentError(error, 'ERR_TEMPLATE_FRONT_MATTER'), bad);
    t.true(error.message.startsWith('t/a.hbs:3: front matter: set: '), error.message);
  }
});
