// docs/configuration-reference.md cannot drift from the code: every key of the JSON Schema (notifier forms
// included), every default, every enum value, every environment variable and every flag is compared with the
// tables of the page, in both directions.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { DURATION_PATTERN } from '../../agent/config/duration.js';
import { configJsonSchema } from '../../agent/config/schema.js';
import { CONFIG_ENV_VARS, envSettings, flagSettings } from '../../agent/config/sources.js';
import { root } from '../helpers/cli.js';

type Node = Readonly<Record<string, unknown>>;

interface Key {
  defaults: Set<string>;
  enums: unknown[];
  duration: boolean;
}

const asNode = (value: unknown): Node => (typeof value === 'object' && value !== null ? (value as Node) : {});

// Why: the schema nests sections as `properties`, notifier forms as `oneOf` under a map's
// `additionalProperties`; leaves are what an operator writes, so those are what the page lists.
function flatten(node: Node, path: readonly string[], keys: Map<string, Key>): void {
  if (Array.isArray(node['oneOf'])) {
    for (const form of node['oneOf']) flatten(asNode(form), path, keys);
    return;
  }
  const properties = asNode(node['properties']);
  if (Object.keys(properties).length > 0) {
    for (const [name, child] of Object.entries(properties)) flatten(asNode(child), [...path, name], keys);
    return;
  }
  const entries = asNode(node['additionalProperties']);
  if (node['type'] === 'object' && (Array.isArray(entries['oneOf']) || entries['properties'] !== undefined)) {
    flatten(entries, [...path, '<name>'], keys);
    return;
  }
  const name = path.join('.');
  const key = keys.get(name) ?? { defaults: new Set<string>(), enums: [], duration: false };
  if (node['default'] !== undefined) key.defaults.add(JSON.stringify(node['default']));
  const values = node['enum'] ?? asNode(node['items'])['enum'];
  if (Array.isArray(values)) key.enums = values;
  if (node['pattern'] === DURATION_PATTERN) key.duration = true;
  keys.set(name, key);
}

const schemaKeys = new Map<string, Key>();
flatten(configJsonSchema(), [], schemaKeys);

interface Row {
  type: string;
  default: string;
  env: string;
  flag: string;
}

const page = await readFile(join(root, 'docs/configuration-reference.md'), 'utf8');
const rows = new Map<string, Row>();
for (const line of page.split('\n')) {
  const cells = line.split('|').map((cell) => cell.trim());
  const key = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
  if (key === undefined || cells.length !== 8) continue;
  if (rows.has(key)) throw new Error(`docs/configuration-reference.md lists ${key} twice`);
  rows.set(key, { type: cells[2] ?? '', default: cells[3] ?? '', env: cells[4] ?? '', flag: cells[5] ?? '' });
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? '').sort();

/** Key path → the environment variables that set it, from the agent's own parser. */
const envByKey = new Map<string, string[]>();
for (const name of CONFIG_ENV_VARS.filter((variable) => variable !== 'SECRETS_AGENT_CONFIG')) {
  const [setting] = envSettings({ [name]: 'x' }, '/');
  if (setting === undefined) throw new Error(`${name} sets nothing`);
  const key = setting.key.join('.');
  envByKey.set(key, [...(envByKey.get(key) ?? []), name].sort());
}

const flagByKey = new Map<string, string[]>();
for (const setting of flagSettings({ templates: 'x', output: 'x', backend: 'x', logLevel: 'x' }, '/')) {
  const key = setting.key.join('.');
  flagByKey.set(key, [...(flagByKey.get(key) ?? []), setting.source.replace(/^flag /, '')].sort());
}

test('the page lists exactly the keys of the configuration schema', (t) => {
  t.true(schemaKeys.size > 40, 'the schema walk found the keys');
  t.deepEqual([...rows.keys()].sort(), [...schemaKeys.keys()].sort());
});

test('each default on the page is the schema default, and keys without one say so', (t) => {
  for (const [key, { defaults }] of schemaKeys) {
    const cell = rows.get(key)?.default ?? '';
    if (defaults.size === 0) t.is(cell, '—', `${key} has no default`);
    else for (const value of defaults) t.true(cell.includes(`\`${value}\``), `${key}: default ${value} (page says ${cell})`);
    t.is(ticked(cell).length, defaults.size, `${key}: no other default is claimed`);
  }
});

test('each enum value and duration is named in the type column', (t) => {
  for (const [key, { enums, duration }] of schemaKeys) {
    const cell = rows.get(key)?.type ?? '';
    t.deepEqual(ticked(cell), enums.map(String).sort(), `${key}: the valid values`);
    t.is(/\bduration\b/.test(cell), duration, `${key}: ${duration ? 'is' : 'is not'} a duration`);
  }
});

test('each environment variable and flag is on the row of the key it sets', (t) => {
  t.true(envByKey.size >= 20);
  for (const key of schemaKeys.keys()) {
    const row = rows.get(key);
    const env = envByKey.get(key) ?? [];
    t.deepEqual(ticked(row?.env ?? ''), env, `${key}: environment`);
    if (env.length === 0) t.is(row?.env, '—', key);
    const flags = flagByKey.get(key) ?? [];
    t.deepEqual(ticked(row?.flag ?? ''), flags, `${key}: flags`);
    if (flags.length === 0) t.is(row?.flag, '—', key);
  }
  for (const key of envByKey.keys()) t.true(schemaKeys.has(key), `${key} (set by the environment) is a schema key`);
  t.true(page.includes('`SECRETS_AGENT_CONFIG`'));
});
