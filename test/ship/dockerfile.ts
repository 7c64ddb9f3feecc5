// A small reader of Dockerfiles and .dockerignore files, enough to check the image's promises without a Docker
// engine: instructions with their flags and exec-form arguments, stages, ARG/ENV names, and the context filter.

/** One instruction, continuation lines joined. */
export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** `--name=value` flags before the arguments (`--from`, `--chown`, `--interval`, ...). */
  readonly flags: Readonly<Record<string, string>>;
  /** The arguments after the flags, as written. */
  readonly rest: string;
  /** The parsed JSON array when the arguments are in exec form, else undefined. */
  readonly exec: readonly string[] | undefined;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

// Why: a Dockerfile's logical lines end at a line without a trailing backslash; comment lines inside a
// continuation are dropped, as BuildKit does.
/** Parse a Dockerfile into instructions. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? '';
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i + 1;
    let logical = first;
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      logical = logical.replace(/\\\s*$/, '');
      i++;
      const next = lines[i] ?? '';
      if (/^\s*#/.test(next)) continue;
      logical += `\n${next}`;
    }
    const match = /^\s*([A-Za-z]+)\s*([\s\S]*)$/.exec(logical);
    if (!match) throw new Error(`Dockerfile line ${start}: cannot parse "${first}"`);
    const keyword = (match[1] ?? '').toUpperCase();
    let rest = (match[2] ?? '').trim();
    const flags: Record<string, string> = {};
    for (let flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); flag; flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
      flags[flag[1] ?? ''] = flag[2] ?? 'true';
      rest = rest.slice(flag[0].length);
    }
    instructions.push({ keyword, flags, rest, exec: execForm(keyword === 'HEALTHCHECK' ? rest.replace(/^CMD\s+/, '') : rest), line: start });
  }
  return instructions;
}

function execForm(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Split instructions into stages (instructions before the first FROM, i.e. global ARGs, are dropped). */
export function stages(instructions: readonly Instruction[]): Stage[] {
  const result: { name: string | undefined; base: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [base = '', as, name] = instruction.rest.split(/\s+/);
      result.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, base, instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

/** The value of every global ARG (declared before the first FROM), for `${NAME}` in FROM lines. */
export function globalArgs(instructions: readonly Instruction[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') break;
    if (instruction.keyword !== 'ARG') continue;
    const [name = '', value = ''] = instruction.rest.split('=');
    args[name] = value;
  }
  return args;
}

/** Replace `${NAME}` and `$NAME` with the given values. */
export function expand(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => values[braced ?? bare ?? ''] ?? whole);
}

/** The names an ARG or ENV instruction declares (`ENV A=1 B=2`, `ENV A 1`, `ARG A`, `ARG A=1`). */
export function declaredNames(instruction: Instruction): string[] {
  if (instruction.keyword === 'ARG') return [instruction.rest.split('=')[0] ?? ''];
  if (!instruction.rest.includes('=')) return [instruction.rest.split(/\s+/)[0] ?? ''];
  return [...instruction.rest.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((match) => match[1] ?? '');
}

// --- .dockerignore -------------------------------------------------------------------------------------------

interface IgnorePattern {
  readonly exclusion: boolean;
  readonly regex: RegExp;
}

// Why: the same rules as moby's patternmatcher: patterns are cleaned paths, `**` spans directories, `*` and `?`
// stay inside one, a `!` pattern re-includes, the last matching pattern wins, and a pattern that matches a parent
// directory matches everything below it.
/** A predicate telling whether a context path (forward slashes, relative) is sent to the builder. */
export function dockerignore(text: string): (path: string) => boolean {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    line = cleanPath(line);
    patterns.push({ exclusion, regex: globRegex(line) });
  }
  return (path: string): boolean => {
    const parts = path.split('/');
    const candidates = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
    let ignored = false;
    for (const pattern of patterns) {
      if (candidates.some((candidate) => pattern.regex.test(candidate))) ignored = !pattern.exclusion;
    }
    return !ignored;
  };
}

function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.replace(/^\/+/, '').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function globRegex(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else {
        source += '.*';
      }
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`${source}$`);
}
