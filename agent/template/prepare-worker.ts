// The worker thread that parses and precompiles templates off the event loop (see preparer.ts).
import { parentPort } from 'node:worker_threads';
import { AgentError } from '../errors.js';
import { precompileTemplate } from './load.js';
import type { PrepareReply, PrepareRequest } from './preparer.js';

parentPort?.on('message', (request: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    const { info, plan } = precompileTemplate(request.file, request.name, request.source);
    reply = { ok: true, info, plan };
  } catch (error) {
    reply = error instanceof AgentError
      ? { ok: false, code: error.code, message: error.message, details: error.details }
      : { ok: false, code: 'ERR_TEMPLATE_PARSE', message: `${request.file}: ${(error as Error).message}`, details: { template: request.file } };
  }
  // The plan's code is transferred, not copied (plan-code.ts).
  parentPort?.postMessage(reply, reply.ok ? [reply.plan.code.buffer] : []);
});
parentPort?.postMessage({ ready: true } satisfies PrepareReply);
