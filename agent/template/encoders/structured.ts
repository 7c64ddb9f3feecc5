// The JSON and YAML encoders: one complete string literal that the format's parser reads back unchanged.

/** A JSON string literal; U+2028/U+2029 are escaped too so the text is also safe inside JavaScript source. */
export function encodeJson(value: string): string {
  // Why: JSON.stringify is exact for well-formed strings but leaves the two JS line separators literal.
  return JSON.stringify(value).replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');
}

// YAML 1.2 double-quoted escapes that have a short name; anything else escaped uses \xXX or \uXXXX.
const namedYamlEscapes: Readonly<Record<string, string>> = {
  '\0': '\\0',
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
  '\x1b': '\\e',
  '"': '\\"',
  '\\': '\\\\',
  '\x85': '\\N',
  '\u2028': '\\L',
  '\u2029': '\\P',
};

// Cc (C0, DEL, C1 with NEL), the line and paragraph separators, the BOM, the non-printable U+FFFE/U+FFFF, quote, backslash.
const yamlNeedsEscape = /[\p{Cc}\u2028\u2029\ufeff\ufffe\uffff"\\]/gu;

/** A YAML double-quoted scalar that keeps every character, including ones YAML would fold, strip or reject. */
export function encodeYaml(value: string): string {
  // Why: in double quotes every character can be escaped, so escaping all non-printables and breaks keeps the scalar on one line and exact.
  return `"${value.replace(yamlNeedsEscape, (ch) => namedYamlEscapes[ch] ?? yamlHexEscape(ch))}"`;
}

/** `\xXX` for a code point up to U+00FF, `\uXXXX` above. */
function yamlHexEscape(ch: string): string {
  // Why: YAML has no short name for most control characters, only numeric escapes.
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}
