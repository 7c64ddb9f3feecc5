// The output formats a template can have, and the default taken from the destination's extension (docs/templates.md).
import { extname } from 'node:path';

export const formats = ['dotenv', 'shell', 'docker', 'json', 'yaml', 'raw'] as const;
export type Format = (typeof formats)[number];

/** Formats whose output is a list of KEY=value assignments, checked by parsing them back. */
export type AssignmentFormat = 'dotenv' | 'shell' | 'docker';

const byExtension: Readonly<Record<string, Format>> = {
  '.env': 'dotenv',
  '.sh': 'shell',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
};

/** `app.env` → dotenv, `config.json` → json, a bare `.env` file → dotenv, anything else → raw. */
export function formatFromDestination(destination: string): Format {
  const base = destination.slice(destination.lastIndexOf('/') + 1);
  if (base === '.env') return 'dotenv';
  return byExtension[extname(base).toLowerCase()] ?? 'raw';
}

export function isAssignmentFormat(format: Format): format is AssignmentFormat {
  return format === 'dotenv' || format === 'shell' || format === 'docker';
}
