// The placeholders of a shape render (docs/templates.md "Validate before write"): each value of the template is
// rendered as a unique token, so the parsed shape says where each value must read back, and whether the template
// put quotes or text of its own around it.
import { AgentError } from '../errors.js';
import { quotedAdvice } from './ast.js';
import type { Where } from './engine.js';
import type { Template } from './load.js';

/** One value of the shape render: the text that stood in for it, and where the template wrote it. */
export interface Stand {
  /** The placeholder itself. */
  readonly token: string;
  /** What the template wrote in its place: the token encoded (`'SAPH…'`, `"1…"`), or the bare token when raw. */
  readonly text: string;
  readonly value: string;
  readonly at: Where;
  /** `{{x}}`, `{{{x}}}`, or an explicit encoder such as `{{json x}}`. */
  readonly kind: 'escaped' | 'raw' | 'explicit';
}

/** True when the value went into the file as it is (`{{{x}}}`, `{{docker x}}`): such a value can change the structure. */
export function verbatim(stand: Stand): boolean {
  return stand.text === stand.token;
}

/** The placeholders of one shape render, and how to put the values back in their place. */
export class Placeholders {
  readonly stands: Stand[] = [];
  readonly #pattern: RegExp;
  constructor(
    readonly make: (index: number) => string,
    pattern: string,
  ) {
    this.#pattern = new RegExp(pattern, 'g');
  }

  /** The shape's text for one value: `encode(token)` for an encoded value, the bare token for a raw one. */
  add(value: string, at: Where, kind: Stand['kind'], encode: (token: string) => string): string {
    // Why: the token is unique per value, so the parsed shape says where each value must read back.
    const token = this.make(this.stands.length);
    const text = encode(token);
    this.stands.push({ token, text, value, at, kind });
    return text;
  }

  /** `text` with every token replaced by its value: what the real output must read as. */
  substitute(text: string): string {
    return text.replace(this.#pattern, (_match: string, index: string) => this.stands[Number(index)]?.value ?? '');
  }

  /** The values whose tokens appear in `text`. */
  in(text: string): Stand[] {
    return [...text.matchAll(this.#pattern)].map((m) => this.stands[Number(m[1])]).filter((s): s is Stand => s !== undefined);
  }

  /**
   * The first encoded value whose own quotes the consumer read as characters of `parsed` (so it would not read
   * back as itself): `KEY="{{x}}"`, `k: '{{x}}'`, `k: pre {{x}}`.
   */
  quotedIn(parsed: string): Stand | undefined {
    return this.in(parsed).find((s) => s.text !== s.token && parsed.includes(s.text));
  }
}

export function quoted(template: Template, stand: Stand): AgentError {
  return new AgentError('ERR_TEMPLATE_QUOTED', `${template.file}:${stand.at.line}: {{${stand.at.label}}} is read with its own quotes as part of a longer value (quotes or text the template wrote around it); ${quotedAdvice(template.format)}`, {
    details: { template: template.file, line: stand.at.line },
  });
}

/** The 1-based line of `index` in `text`. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < index; nl = text.indexOf('\n', nl + 1)) line += 1;
  return line;
}

/** ERR_OUTPUT_INVALID for `template`: the message names the file, never a value. */
export function invalid(template: Template, message: string): AgentError {
  return new AgentError('ERR_OUTPUT_INVALID', `${template.file}: ${message}`, { details: { template: template.file } });
}
