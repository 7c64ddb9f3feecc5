// YAML front matter at the top of a template (docs/templates.md): where the file goes, its mode and owner, its
// format, which notifiers it wakes, which backend it is pinned to and which set it is written with.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { BACKEND_NAMES } from '../backends/names.js';
import { closest } from '../config/suggest.js';
import { AgentError } from '../errors.js';
import { formats } from './formats.js';
import { describeBytes, limitError, MAX_FRONT_MATTER_BYTES } from './limits.js';

const frontMatterSchema = z.strictObject({
  destination: z.string().min(1).optional(),
  mode: z.string().regex(/^0?[0-7]{3}$/, 'must be a quoted octal string such as "0640"').optional(),
  uid: z.number().int().min(0).optional(),
  gid: z.number().int().min(0).optional(),
  format: z.enum(formats).optional(),
  notify: z.array(z.string().min(1)).optional(),
  backend: z.enum(BACKEND_NAMES).optional(),
  // A name, not a path: it appears in logs, check and /v1/status (docs/templates.md "Sets").
  set: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a name of letters, digits, ".", "_" or "-" (at most 63, not starting with "." or "-")').optional(),
});

export type FrontMatter = z.infer<typeof frontMatterSchema>;

export interface SplitTemplate {
  meta: FrontMatter;
  body: string;
  /** Lines taken by the front matter; add it to a body line number to get the file's line number. */
  lineOffset: number;
}

/** Separate the front matter from the Handlebars body and validate it; `file` names the template in errors. */
export function splitFrontMatter(file: string, source: string): SplitTemplate {
  const opening = /^---\r?\n/.exec(source);
  if (!opening) return { meta: {}, body: source, lineOffset: 0 };
  const closing = /^---[ \t]*(?:\r?\n|$)/m;
  const rest = source.slice(opening[0].length);
  const end = closing.exec(rest);
  if (!end) {
    throw new AgentError('ERR_TEMPLATE_FRONT_MATTER', `${file}:1: front matter opened with "---" is never closed`, { details: { template: file, line: 1 } });
  }
  const yamlText = rest.slice(0, end.index);
  // The YAML parser costs microseconds a token: front matter is a few keys, so its size is bounded (docs/templates.md "Limits").
  if (Buffer.byteLength(yamlText, 'utf8') > MAX_FRONT_MATTER_BYTES) throw limitError(file, 1, `the front matter is over the limit of ${describeBytes(MAX_FRONT_MATTER_BYTES)}`);
  const lineOffset = 2 + countLines(yamlText);
  const doc = parseDocument(yamlText, { prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = 1 + (yamlError.linePos?.[0].line ?? 1);
    throw new AgentError('ERR_TEMPLATE_FRONT_MATTER', `${file}:${line}: front matter is not valid YAML (${yamlError.code})`, { details: { template: file, line } });
  }
  const parsed = frontMatterSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const valid = Object.keys(frontMatterSchema.shape);
    const problems = parsed.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => {
          const guess = closest(key, valid);
          return { line: keyLine(yamlText, key), text: `unknown key "${key}"${guess === undefined ? '' : ` - did you mean "${guess}"?`} (valid keys: ${valid.join(', ')})` };
        });
      }
      const key = issue.path.join('.') || 'front matter';
      const line = keyLine(yamlText, String(issue.path[0] ?? ''));
      // Why: YAML reads an unquoted 0640 as the decimal number 640, which is never what a mode means.
      if (key === 'mode' && issue.code === 'invalid_type') return [{ line, text: `mode: ${rawValue(yamlText, 'mode') ?? 'the value'} is a YAML number, not a mode; quote it: mode: "${rawValue(yamlText, 'mode') ?? '0640'}"` }];
      return [{ line, text: `${key}: ${issue.message}` }];
    });
    const first = problems[0]?.line;
    const where = first === undefined ? file : `${file}:${first}`;
    throw new AgentError('ERR_TEMPLATE_FRONT_MATTER', `${where}: front matter: ${problems.map((problem) => problem.text).join('; ')}`, { details: { template: file, ...(first === undefined ? {} : { line: first }) } });
  }
  return { meta: parsed.data, body: rest.slice(end.index + end[0].length), lineOffset };
}

/** The file line (the opening `---` is line 1) of `key:` at the top of the front matter, if it is there. */
function keyLine(yamlText: string, key: string): number | undefined {
  if (key === '') return undefined;
  const index = yamlText.split('\n').findIndex((line) => line.startsWith(`${key}:`));
  return index === -1 ? undefined : index + 2;
}

/** The text written after `key:` (front matter holds no secrets), for quoting it back. */
function rawValue(yamlText: string, key: string): string | undefined {
  const line = yamlText.split('\n').find((text) => text.startsWith(`${key}:`));
  const value = line?.slice(key.length + 1).replace(/\s+#.*$/, '').trim();
  return value === undefined || value === '' ? undefined : value;
}

function countLines(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}
