/** Input and output guards of the gateway: detectors, the guard set, streaming, request bodies, the classifier. */
export { GuardSet, type GuardSetResult, type InspectOptions, type Where } from './guard-set.ts';
export { OutputStreamGuard, guardOutputText, type StreamStep } from './stream.ts';
export {
  guardChatRequest,
  guardCompletionRequest,
  guardEmbeddingRequest,
  guardRequestBody,
  conversationOf,
  classifyRequest,
  type Endpoint,
  type GuardedRequest,
  type RequestFinding,
} from './request.ts';
export { ClassifierGuard, LLAMA_GUARD_3_CATEGORIES, parseLlamaGuard, parseSafeguard, type ChatTurn, type ClassifierCategory, type ClassifierResult } from './classifier.ts';
export { SECRET_RULES } from './secrets.ts';
export { PII_RULES } from './pii.ts';
export { INJECTION_INPUT_RULES, INJECTION_OUTPUT_RULES } from './injection.ts';
