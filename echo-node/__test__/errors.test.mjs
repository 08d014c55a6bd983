// Typed errors, API keys and tenant isolation through the Node API.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, test } from 'node:test'

import {
  ConflictError,
  EchoError,
  InvalidInputError,
  ManualClock,
  NotFoundError,
  PermissionDeniedError,
  Principal,
  QuotaExceededError,
  RateLimitedError,
  UnauthenticatedError,
  errorClassForCode,
  errorKinds,
} from 'echo-ai'

import { newAccount, openEngine, rejectsWith, spec } from './helpers.mjs'

let echo
before(async () => {
  echo = await openEngine()
})
after(async () => {
  await echo.close()
})

/** The `as_str` names of echo-core's ErrorKind, read from its source. */
function coreKindNames() {
  const source = fs.readFileSync(new URL('../../echo-core/src/error.rs', import.meta.url), 'utf8')
  return [...source.matchAll(/ErrorKind::(\w+) => "(\w+)"/g)].map((m) => m[2])
}

/** The string literals of `export type <name> = 'a' | 'b' ...` (up to a blank line). */
function declaredUnion(file, name) {
  const text = fs.readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
  const [, rest] = text.split(`export type ${name} =`)
  assert.ok(rest, `${name} is not declared in ${file}`)
  return [...rest.split('\n\n')[0].matchAll(/'([^']+)'/g)].map((m) => m[1])
}

test('every core error kind has its own class, and its code in the ErrorCode type', () => {
  // errorKinds() is echo-core's ErrorKind::ALL, so a kind added to the core shows up here
  // and needs a class in lib/errors.js; the core's own source is read as a second check.
  const kinds = errorKinds()
  assert.deepEqual(kinds, coreKindNames())
  assert.ok(kinds.includes('consent_required'))
  for (const kind of kinds) {
    const Cls = errorClassForCode(kind)
    assert.notEqual(Cls, EchoError, `no class for the core's error kind ${kind} in lib/errors.js`)
    assert.equal(Cls.code, kind)
  }
  assert.deepEqual(declaredUnion('lib/index.d.ts', 'ErrorCode').sort(), [...kinds].sort())
  assert.equal(errorClassForCode('something_new'), EchoError)
})

test('an invalid spec is refused with the field, before anything is written', async () => {
  const { principal } = await newAccount(echo)
  const bad = spec()
  bad.prompts[1] = '   '
  await rejectsWith(echo.createExperiment(principal, bad), InvalidInputError, {
    field: 'spec.prompts[1]',
    message: /must not be blank/,
  })
  // A value of the wrong shape is refused synchronously, while converting the argument.
  assert.throws(
    () => echo.createExperiment(principal, { ...spec(), brands: [{ name: 'X', case: 'loud' }] }),
    (err) => err instanceof InvalidInputError && err.field === 'spec' && /loud/.test(err.message),
  )
  assert.equal((await echo.listExperiments(principal)).items.length, 0)
})

test('bad ids and options are refused synchronously with InvalidInputError', () => {
  const principal = Principal.admin()
  assert.throws(() => echo.getRun(principal, 'not-a-uuid'), (err) => err instanceof InvalidInputError && err.field === 'runId')
  assert.throws(() => Principal.host('42'), InvalidInputError)
  assert.throws(() => echo.startWorker({ pollIntervalSecs: -1 }), { code: 'invalid_input', field: 'worker.pollIntervalSecs' })
})

test('a principal argument must be a Principal: other objects are refused before they are read', async () => {
  // Without the instanceof check napi would read another class's native object as a
  // Principal (an instance of ManualClock aborted the process).
  for (const notAPrincipal of [{}, new ManualClock(), echo, { accountId: 'x', scopes: ['admin'] }]) {
    assert.throws(() => echo.getAccount(notAPrincipal), { code: 'InvalidArg', message: /not instanceof class `Principal`/ })
    assert.throws(() => echo.auditEvents(notAPrincipal), { code: 'InvalidArg' })
  }
})

test('Echo.open refuses bad options with the option named', async () => {
  await rejectsWith(Promise.resolve().then(() => openEngine({ database: 'mysql://x' })), InvalidInputError, {
    field: 'database_url',
  })
  await rejectsWith(Promise.resolve().then(() => openEngine({ quota: 'gold' })), InvalidInputError, { field: 'quota' })
})

test('another account sees NotFound; scopes and the operator are enforced', async () => {
  const a = await newAccount(echo, 'A')
  const b = await newAccount(echo, 'B')
  const experiment = await echo.createExperiment(a.principal, spec())
  await rejectsWith(echo.getExperiment(b.principal, experiment.id), NotFoundError)
  const handle = await echo.startRun(a.principal, experiment.id)
  await handle.wait()
  await rejectsWith(echo.report(b.principal, handle.runId), NotFoundError)
  await rejectsWith(echo.getRun(b.principal, handle.runId), NotFoundError)
  await rejectsWith(echo.createAccount(a.principal, { name: 'sneaky' }), PermissionDeniedError)
  // The operator must name the account it acts for first.
  await rejectsWith(echo.getAccount(Principal.admin()), InvalidInputError, { field: 'principal' })
  const operator = Principal.admin().actingFor(a.account.id)
  assert.equal(operator.accountId, a.account.id)
  assert.equal((await echo.report(operator, handle.runId)).runId, handle.runId)
  assert.throws(() => a.principal.actingFor(b.account.id), PermissionDeniedError)
})

test('API keys: create, authenticate with exactly its scopes, revoke', async () => {
  const { account, principal } = await newAccount(echo)
  const created = await echo.createApiKey(principal, { name: 'ci', scopes: ['experiments:read'] })
  assert.match(created.secret, /^echo_live_[0-9A-Za-z]{33}$/)
  const prefix = created.key.displayPrefix.replace(/…$/, '')
  assert.ok(prefix.length >= 12 && created.secret.startsWith(prefix), created.key.displayPrefix)
  assert.ok(!JSON.stringify(created.key).includes(created.secret), 'the stored key never holds the secret')

  const caller = await echo.authenticate(created.secret)
  assert.ok(caller instanceof Principal)
  assert.equal(caller.accountId, account.id)
  assert.deepEqual(caller.scopes, ['experiments:read'])
  assert.equal(caller.actor, `api_key:${created.key.id}`)
  assert.equal(caller.has('runs:write'), false)
  await rejectsWith(echo.createExperiment(caller, spec()), PermissionDeniedError)

  const keys = await echo.listApiKeys(principal)
  assert.deepEqual(
    keys.items.map((k) => k.id),
    [created.key.id],
  )
  assert.ok((await echo.flushKeyUsage()) >= 1)
  assert.ok((await echo.listApiKeys(principal)).items[0].lastUsedAt)

  const revoked = await echo.revokeApiKey(principal, created.key.id)
  assert.ok(revoked.revokedAt)
  await rejectsWith(echo.authenticate(created.secret), UnauthenticatedError, { reason: 'revoked' })
  await rejectsWith(echo.authenticate('echo_live_short'), UnauthenticatedError, { reason: 'malformed' })
  await rejectsWith(echo.createApiKey(principal, { name: 'x', scopes: ['admin'] }), InvalidInputError)
})

test('unknown, revoked and expired keys get the same message', async () => {
  const { principal } = await newAccount(echo)
  const revoked = await echo.createApiKey(principal, { name: 'r', scopes: ['experiments:read'] })
  await echo.revokeApiKey(principal, revoked.key.id)
  const expired = await echo.createApiKey(principal, {
    name: 'e',
    scopes: ['experiments:read'],
    expiresAt: new Date(Date.now() + 200).toISOString(),
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const unknown = `${revoked.secret.slice(0, 12)}${'0'.repeat(revoked.secret.length - 12)}`
  const messages = new Set()
  for (const [key, reason] of [
    [revoked.secret, 'revoked'],
    [expired.secret, 'expired'],
  ]) {
    await rejectsWith(echo.authenticate(key), UnauthenticatedError, { reason })
    messages.add(await echo.authenticate(key).catch((e) => e.message))
  }
  const unknownErr = await echo.authenticate(unknown).catch((e) => e)
  assert.ok(unknownErr instanceof UnauthenticatedError)
  assert.equal(messages.size, 1)
})

test('quota and rate-limit refusals carry their details', async () => {
  const { principal } = await newAccount(echo, 'small', 'free')
  const big = await echo.createExperiment(principal, spec({ repeats: 300 }))
  await rejectsWith(echo.startRun(principal, big.id), QuotaExceededError)
  const err = await echo.enqueueRun(principal, big.id).catch((e) => e)
  assert.equal(err.quota.limitKind, 'samples_per_run')
  assert.equal(err.quota.requested, 600)
  assert.equal(err.quota.limit, 500)

  // Enterprise: 50 runs at once, 10 run starts per minute per principal.
  const { principal: ent } = await newAccount(echo, 'busy', 'enterprise')
  const small = await echo.createExperiment(ent, spec({ repeats: 1, prompts: 1 }))
  for (let i = 0; i < 10; i++) await echo.enqueueRun(ent, small.id)
  const limited = await echo.enqueueRun(ent, small.id).catch((e) => e)
  assert.ok(limited instanceof RateLimitedError, String(limited))
  assert.ok(limited.retryAfter > 0 && limited.retryAfter <= 60, String(limited.retryAfter))
})

test('deleting an experiment with a running run is a ConflictError', async () => {
  const slow = await openEngine({ simulated: { seed: 3, latencyMs: 200, maxConcurrency: 1 } })
  try {
    const { principal } = await newAccount(slow)
    const experiment = await slow.createExperiment(principal, spec({ repeats: 20 }))
    const handle = await slow.startRun(principal, experiment.id)
    await rejectsWith(slow.deleteExperiment(principal, experiment.id), ConflictError)
    handle.cancel()
    await handle.wait()
  } finally {
    await slow.close()
  }
})
