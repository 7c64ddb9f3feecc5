// What the deployment-example tests share: the examples directory, the package version, and total accessors
// for parsed YAML (a missing or mistyped field reads as empty, so each test's assertion says what is wrong).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { root } from '../helpers/cli.js';

export type Json = Record<string, unknown>;

export const examples = join(root, 'examples');
export const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;

export const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const str = (value: unknown): string => (typeof value === 'string' ? value : '');
export const readFileText = (path: string): string => readFileSync(path, 'utf8');
