// A template's plan as flat code (see plan.ts): one Int32Array and a table of distinct literals, rather than an object
// per call. 50,000 references as objects were about 500 bytes each, cost the worker 0.4 s to post and the event loop
// 0.15 s to receive; as code they are a few dozen bytes (the array is transferred, not copied) and the literal table
// holds each path and label once, however often it is referenced.
//
// Code: a sequence of segments, each `TEXT i` (literal i), `CHUNK i` (compiled chunk i) or `CALL <call>`, where
// <call> is `helper nParams nHash line column endLine endColumn`, its parameters, then `key <argument>` per hash pair
// in source order, and an <argument> is `LITERAL i` or `CALL <call>`.

/** A literal argument, as Handlebars pushes it: the StringLiteral's, NumberLiteral's or BooleanLiteral's value. */
export type Literal = string | number | boolean;

/** A helper call whose arguments are literals or calls: `secret "a/b" default="x"`, `upper (env "HOME")`. */
export interface Call {
  readonly helper: string;
  readonly params: readonly Argument[];
  /** Hash pairs in source order. */
  readonly hash: ReadonlyArray<readonly [string, Argument]>;
  /** The call's `loc` as [start line, start column, end line, end column] (Handlebars' numbering: line 1, column 0). */
  readonly loc: readonly [number, number, number, number];
}

export type Argument = Literal | Call;

/** What a worker thread hands back: structured-cloneable, `code`'s buffer transferable. */
export interface Plan<Chunk> {
  readonly code: Int32Array<ArrayBuffer>;
  readonly literals: readonly Literal[];
  readonly chunks: readonly Chunk[];
}

/** A compiled chunk, called as Handlebars calls a template: `(context, runtimeOptions)`. */
export type Run = (context: object, options: object) => string;

/** The registered (counted) helpers of the engine, which planned calls call. */
export type Helpers = Readonly<Record<string, ((this: unknown, ...args: unknown[]) => unknown) | undefined>>;

const TEXT = 0;
const CHUNK = 1;
const CALL = 2;
const LITERAL = 3;

/** Writes segments as code, each distinct literal once. */
export class PlanWriter {
  readonly #code: number[] = [];
  readonly #literals: Literal[] = [];
  readonly #strings = new Map<string, number>();
  readonly #others = new Map<number | boolean, number>();

  text(text: string): void {
    this.#code.push(TEXT, this.#literal(text));
  }

  chunk(index: number): void {
    this.#code.push(CHUNK, index);
  }

  call(call: Call): void {
    this.#code.push(CALL);
    this.#call(call);
  }

  finish<Chunk>(chunks: readonly Chunk[]): Plan<Chunk> {
    return { code: Int32Array.from(this.#code), literals: this.#literals, chunks };
  }

  #call(call: Call): void {
    this.#code.push(this.#literal(call.helper), call.params.length, call.hash.length, ...call.loc);
    for (const param of call.params) this.#argument(param);
    for (const [key, value] of call.hash) {
      this.#code.push(this.#literal(key));
      this.#argument(value);
    }
  }

  #argument(argument: Argument): void {
    if (typeof argument === 'object') {
      this.#code.push(CALL);
      this.#call(argument);
    } else {
      this.#code.push(LITERAL, this.#literal(argument));
    }
  }

  #literal(value: Literal): number {
    const table: Map<Literal, number> = typeof value === 'string' ? this.#strings : this.#others;
    let index = table.get(value);
    if (index === undefined) {
      index = this.#literals.push(value) - 1;
      table.set(value, index);
    }
    return index;
  }
}

/** How many segments of each kind a plan holds (for tests and diagnostics). */
export function countSegments(plan: Plan<unknown>): { text: number; call: number; chunk: number } {
  const counts = { text: 0, call: 0, chunk: 0 };
  const reader = new Reader(plan, {}, {}, {});
  while (reader.pos < plan.code.length) {
    const op = plan.code[reader.pos++];
    if (op === CALL) {
      counts.call += 1;
      reader.skipCall();
    } else {
      reader.pos += 1;
      if (op === TEXT) counts.text += 1;
      else counts.chunk += 1;
    }
  }
  return counts;
}

/**
 * Render a plan: text as it is, each call as Handlebars' generated code makes it, each chunk by its compiled function.
 * Values are appended as Handlebars appends an unescaped mustache's: nothing for null or undefined, the string otherwise.
 */
export function runPlan(plan: Plan<Run>, helpers: Helpers, context: object, options: object): string {
  // Handlebars gives helpers the data frame `{ root: context }` of a template called without data.
  const reader = new Reader(plan, helpers, context, { root: context });
  const code = plan.code;
  let out = '';
  while (reader.pos < code.length) {
    const op = code[reader.pos++];
    if (op === TEXT) {
      out += reader.literal(code[reader.pos++]) as string;
    } else if (op === CHUNK) {
      const chunk = plan.chunks[code[reader.pos++] ?? -1];
      if (chunk === undefined) throw new Error('template plan: a compiled chunk is missing');
      out += chunk(context, options);
    } else {
      const value = reader.call();
      // Helpers return strings, SafeStrings and, from literals, numbers and booleans; `+=` converts them the same way.
      if (value !== undefined && value !== null) out += (value as { toString(): string }).toString();
    }
  }
  return out;
}

/** Reads and evaluates code from `pos`. */
class Reader {
  pos = 0;

  constructor(
    private readonly plan: Plan<unknown>,
    private readonly helpers: Helpers,
    private readonly context: object,
    private readonly data: object,
  ) {}

  literal(index: number | undefined): Literal {
    const value = this.plan.literals[index ?? -1];
    if (value === undefined) throw new Error('template plan: a literal is missing');
    return value;
  }

  /** One helper call at `pos` (after its CALL): parameters in order, then the hash as Handlebars' compiler builds it. */
  call(): unknown {
    const code = this.plan.code;
    const name = this.literal(code[this.pos]) as string;
    const params = code[this.pos + 1] ?? 0;
    const pairs = code[this.pos + 2] ?? 0;
    const loc = { start: { line: code[this.pos + 3], column: code[this.pos + 4] }, end: { line: code[this.pos + 5], column: code[this.pos + 6] } };
    this.pos += 7;
    const helper = this.helpers[name];
    if (helper === undefined) throw new Error(`template plan: helper ${name} is not registered`);
    const args: unknown[] = [];
    for (let i = 0; i < params; i += 1) args.push(this.argument());
    // Handlebars' compiler assigns hash pairs last to first into one object literal: the keys come out in reverse
    // order, a repeated key keeps the first pair's value (the other values are never evaluated), and `__proto__` is
    // dropped (assigning a string to it is ignored).
    const starts: Array<readonly [string, number]> = [];
    for (let i = 0; i < pairs; i += 1) {
      const key = this.literal(code[this.pos++]) as string;
      starts.push([key, this.pos]);
      this.skipArgument();
    }
    const end = this.pos;
    const order: string[] = [];
    const chosen = new Map<string, number>();
    for (let i = starts.length - 1; i >= 0; i -= 1) {
      const [key, start] = starts[i] ?? ['__proto__', 0];
      if (key === '__proto__') continue;
      if (!chosen.has(key)) order.push(key);
      chosen.set(key, start);
    }
    const hash: Record<string, unknown> = {};
    for (const key of order) {
      this.pos = chosen.get(key) ?? end;
      hash[key] = this.argument();
    }
    this.pos = end;
    args.push({ name, hash, data: this.data, loc });
    return helper.apply(this.context, args);
  }

  skipCall(): void {
    const code = this.plan.code;
    const params = code[this.pos + 1] ?? 0;
    const pairs = code[this.pos + 2] ?? 0;
    this.pos += 7;
    for (let i = 0; i < params; i += 1) this.skipArgument();
    for (let i = 0; i < pairs; i += 1) {
      this.pos += 1;
      this.skipArgument();
    }
  }

  #argumentKind(): number | undefined {
    return this.plan.code[this.pos++];
  }

  argument(): unknown {
    return this.#argumentKind() === CALL ? this.call() : this.literal(this.plan.code[this.pos++]);
  }

  skipArgument(): void {
    if (this.#argumentKind() === CALL) this.skipCall();
    else this.pos += 1;
  }
}
