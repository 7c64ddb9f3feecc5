// Escaping follows the format (docs/templates.md): `{{x}}` becomes one exact literal of the template's format, or the render fails.
import type { Format } from './formats.js';
import { encodeDocker, encodeDotenv, encodeShell } from './encoders/env.js';
import { refuseLoneSurrogate, refuseUnwritable } from './encoders/refusal.js';
import { encodeJson, encodeYaml } from './encoders/structured.js';

export { refusalReasons, type RefusalReason } from './encoders/refusal.js';
export { dockerMaxValueBytes, dotenvWhitespace, interpolation } from './encoders/env.js';

/**
 * The text that replaces `{{x}}` in a template of `format`: for dotenv/shell/docker the text after `KEY=`, for
 * json/yaml a complete string literal, for raw the value itself. Throws AgentError ERR_ENCODE_REFUSED (message
 * names the problem and the alternatives, never the value) when the format's consumers cannot read it back exactly.
 */
export function encodeValue(format: Format, value: string): string {
  // Why: one entry point so templates, helpers and validation all encode the same way.
  if (format === 'raw') {
    // Raw still writes UTF-8: a lone surrogate would be written as U+FFFD, another value (docs/templates.md).
    refuseLoneSurrogate(format, value);
    return value;
  }
  refuseUnwritable(format, value);
  switch (format) {
    case 'dotenv':
      return encodeDotenv(value);
    case 'shell':
      return encodeShell(value);
    case 'docker':
      return encodeDocker(value);
    case 'json':
      return encodeJson(value);
    case 'yaml':
      return encodeYaml(value);
  }
}
