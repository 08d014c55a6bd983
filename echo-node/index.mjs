// The ES module entry of echo-ai: the CommonJS entry (lib/index.js) re-exported by name,
// so `import { Echo } from 'echo-ai'` and `require('echo-ai').Echo` are the same object.
// exports.test.cjs checks that this list equals the CommonJS exports.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const echo = require('./lib/index.js')

export default echo
export const {
  __napiBindingTarget,
  auditActions,
  CancelledError,
  ConfigError,
  ConflictError,
  ConsentRequiredError,
  DATA_PROCESSING,
  Echo,
  EchoError,
  errorClassForCode,
  errorKinds,
  InternalError,
  InvalidInputError,
  ManualClock,
  NotFoundError,
  PermissionDeniedError,
  Principal,
  ProviderError,
  QuotaExceededError,
  RateLimitedError,
  registerErrorFactory,
  RunHandle,
  StorageError,
  UnauthenticatedError,
  validateTarget,
  version,
  WorkerHandle,
} = echo
