// The package version, read from the package's own package.json so `version` never drifts from it.
// Walks up because the module runs both from agent/ (tests) and from dist/agent/ (the build).
import { existsSync, readFileSync } from 'node:fs';

function readVersion(): string {
  for (let dir = new URL('../', import.meta.url); ; dir = new URL('../', dir)) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dir.pathname === '/') return '0.0.0';
  }
}

export const version: string = readVersion();
