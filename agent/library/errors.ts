// The seed's error messages for library users (README.md "Library"): `Vault not available: <reason>`,
// `Secret not found: <path>`, `Permission denied: <path>`, `Unable to locate credentials`. They stay
// AgentErrors with stable codes, so callers can branch on `code` instead of the text.
import type { BackendName } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import type { Resolution } from '../store/store.js';

const displayName: Readonly<Record<BackendName, string>> = { vault: 'Vault', aws: 'AWS Secrets Manager', file: 'Secrets file', env: 'Environment' };

/** The error a library call throws for a resolution that is not a value. */
export function libraryError(path: string, resolution: Exclude<Resolution, { status: 'found' }>): AgentError {
  if (resolution.status === 'not_found') {
    return new AgentError('ERR_SECRET_NOT_FOUND', `Secret not found: ${path}`, { details: { path, tried: resolution.tried.join(',') } });
  }
  const { error } = resolution;
  const backend = typeof error.details['backend'] === 'string' ? (error.details['backend'] as BackendName) : undefined;
  switch (error.code) {
    case 'ERR_SECRET_DENIED':
      return new AgentError('ERR_SECRET_DENIED', `Permission denied: ${path}`, { cause: error, details: error.details });
    case 'ERR_NO_CREDENTIALS':
      return new AgentError('ERR_NO_CREDENTIALS', `Unable to locate credentials: ${error.message}`, { cause: error, details: error.details });
    case 'ERR_BACKEND_UNAVAILABLE':
      return new AgentError('ERR_BACKEND_UNAVAILABLE', `${backend ? displayName[backend] : 'Secret backend'} not available: ${error.message}`, { cause: error, details: error.details });
    default:
      return error;
  }
}
