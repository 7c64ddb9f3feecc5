// The `vault` template helper as templates see it (docs/templates.md "The vault helper"): calls read from the AST
// with literal paths and parameters, one identity per call whatever the parameter order, `#with` over the response's
// data, and errors that name the template, the line and the call.
import test from 'ava';
import { callIdentity, parseCallIdentity } from '../../agent/dynamic/identity.js';
import { isAgentError } from '../../agent/errors.js';
import { Scrubber } from '../../agent/log/scrub.js';
import { resolvedValues } from '../../agent/store/values.js';
import { prepare, render } from '../helpers/render.js';

test('calls are dependencies: GET without parameters, PUT with them, identity = method, path, sorted parameters', (t) => {
  const template = prepare([
    '{{#with (vault "database/creds/api-server")}}USER={{username}}',
    'PASS={{password}}{{/with}}',
    '{{#with (vault "pki/issue/api-server" ttl="72h" common_name="api.dsta.internal" exclude_cn_from_sans=false)}}X={{serial_number}}{{/with}}',
  ].join('\n'));
  t.deepEqual(template.dependencies.map((d) => [d.helper, d.path, d.backend, d.line]), [
    ['vault', 'GET database/creds/api-server', 'vault', 1],
    ['vault', 'PUT pki/issue/api-server common_name="api.dsta.internal" exclude_cn_from_sans=false ttl="72h"', 'vault', 3],
  ]);
  t.deepEqual(template.dependencies[1]?.call, { method: 'PUT', path: 'pki/issue/api-server', params: { ttl: '72h', common_name: 'api.dsta.internal', exclude_cn_from_sans: false } });
  const same = prepare('{{#with (vault "pki/issue/api-server" exclude_cn_from_sans=false common_name="api.dsta.internal" ttl="72h")}}X={{serial_number}}{{/with}}');
  t.is(same.dependencies[0]?.path, template.dependencies[1]?.path, 'the order of parameters does not make another call');
});

test('identities parse back to their call, quotes and spaces in values included', (t) => {
  const params = { common_name: 'a "quoted" name', alt_names: 'x.example, y.example', ttl: 3600, exclude: true };
  const identity = callIdentity('pki/issue/web', params);
  t.is(identity, 'PUT pki/issue/web alt_names="x.example, y.example" common_name="a \\"quoted\\" name" exclude=true ttl=3600');
  t.deepEqual(parseCallIdentity(identity), { method: 'PUT', path: 'pki/issue/web', params });
  t.is(parseCallIdentity('database/creds/x'), undefined, 'a KV path is never a call');
});

test('#with reads the response data; nested arrays (a CA chain) work with #each', (t) => {
  const table = {
    'GET database/creds/api-server': { username: 'v-api-abc', password: 'p@ss word' } as unknown as Record<string, string>,
    'PUT pki/issue/api-server common_name="api.dsta.internal"': { certificate: 'CERT', ca_chain: ['CA1', 'CA2'] } as unknown as Record<string, string>,
  };
  const out = render([
    '{{#with (vault "database/creds/api-server")}}DB_USER={{username}}',
    'DB_PASSWORD={{password}}',
    '{{/with}}',
  ].join('\n'), table, { name: 'database.env.hbs' });
  t.is(out, "DB_USER='v-api-abc'\nDB_PASSWORD='p@ss word'\n");
  const pem = render('{{#with (vault "pki/issue/api-server" common_name="api.dsta.internal")}}{{certificate}}\n{{#each ca_chain}}{{this}}\n{{/each}}{{/with}}', table, { name: 'chain.pem.hbs' });
  t.is(pem, 'CERT\nCA1\nCA2\n');
});

test('a path or parameter that is not a literal is refused with file and line; a failed call names template, line and call', (t) => {
  const dynamicPath = t.throws(() => prepare('A=1\n{{#with (vault (lower "X"))}}{{/with}}'));
  t.true(isAgentError(dynamicPath, 'ERR_TEMPLATE_DYNAMIC_PATH'));
  t.regex(dynamicPath.message, /^templates\/app\.env\.hbs:2: vault takes exactly one string literal path/);
  const dynamicParam = t.throws(() => prepare('{{#each list}}{{#with (vault "pki/issue/x" common_name=this)}}{{/with}}{{/each}}'));
  t.true(isAgentError(dynamicParam, 'ERR_TEMPLATE_DYNAMIC_PATH'));
  t.regex(dynamicParam.message, /:1: vault "pki\/issue\/x": common_name= must be a literal/);
  const badPath = t.throws(() => prepare('{{#with (vault "../sys/raw")}}{{/with}}'));
  t.true(isAgentError(badPath, 'ERR_TEMPLATE_PARSE'));
  const missing = t.throws(() => render('A=1\n{{#with (vault "database/creds/nope")}}U={{username}}{{/with}}', {}));
  t.true(isAgentError(missing, 'ERR_SECRET_NOT_FOUND'));
  t.regex(missing.message, /^templates\/app\.env\.hbs:2: vault "database\/creds\/nope": Vault has nothing at this path/);
});

test('every string of a response, nested ones included, is a value the scrubber removes', (t) => {
  const data = { certificate: 'CERT-PEM-TEXT', private_key: 'KEY-PEM-TEXT', ca_chain: ['CA-ONE-PEM', 'CA-TWO-PEM'], expiration: 1_767_225_600, nested: { password: 'deep-secret' } };
  const values = resolvedValues([{ status: 'found', data: data as unknown as Record<string, string>, backend: 'vault' }]);
  t.deepEqual(values, ['CERT-PEM-TEXT', 'KEY-PEM-TEXT', 'CA-ONE-PEM', 'CA-TWO-PEM', 'deep-secret']);
  const scrubber = new Scrubber();
  scrubber.rotate(values);
  t.is(scrubber.scrub('chain CA-TWO-PEM and deep-secret'), 'chain [REDACTED] and [REDACTED]');
});
