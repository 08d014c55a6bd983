// Drives examples/server.mjs over real HTTP on loopback (an ephemeral port).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Principal } from 'echo-ai'

import { SECURITY_HEADERS, createServer } from '../../examples/server.mjs'
import { newAccount, openEngine, spec } from './helpers.mjs'

const RATE_LIMIT = { name: 'test.api', limit: 30, windowSecs: 60 }
const SCOPES = ['experiments:read', 'experiments:write', 'runs:write']

let echo
let server
let base
let alice
let bob
let aliceKey
let bobKey

before(async () => {
  echo = await openEngine()
  server = createServer({ echo, rateLimit: RATE_LIMIT })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${server.address().port}`
  alice = await newAccount(echo, 'Alice Co')
  bob = await newAccount(echo, 'Bob Co')
  aliceKey = (await echo.createApiKey(alice.principal, { name: 'alice', scopes: SCOPES })).secret
  bobKey = (await echo.createApiKey(bob.principal, { name: 'bob', scopes: SCOPES })).secret
})

after(async () => {
  await new Promise((resolve) => server.close(resolve))
  await echo.close()
})

async function call(method, path, { key, body, headers: extra = {}, base: at = base } = {}) {
  const headers = { ...extra }
  if (key) headers.authorization = `Bearer ${key}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${at}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, headers: res.headers, body: await res.json() }
}

function assertSecurityHeaders(headers) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    assert.equal(headers.get(name), value, name)
  }
  assert.equal(headers.get('content-type'), 'application/json; charset=utf-8')
}

async function waitForRun(key, runId) {
  for (let i = 0; i < 400; i++) {
    const run = await call('GET', `/v1/runs/${runId}`, { key })
    assert.equal(run.status, 200)
    if (['completed', 'partial', 'failed', 'cancelled'].includes(run.body.status)) return run.body
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`run ${runId} did not finish`)
}

test('no key and a bad key are 401 with the same message and no hint', async () => {
  const none = await call('GET', '/v1/account')
  assert.equal(none.status, 401)
  assert.equal(none.headers.get('www-authenticate'), 'Bearer')
  assertSecurityHeaders(none.headers)

  const forged = `${aliceKey.slice(0, 12)}${'0'.repeat(aliceKey.length - 12)}`
  const unknownKey = await call('GET', '/v1/account', { key: forged })
  const garbage = await call('GET', '/v1/account', { key: 'echo_live_nope' })
  for (const res of [unknownKey, garbage]) {
    assert.equal(res.status, 401)
    assert.equal(res.body.error.code, 'unauthenticated')
    assertSecurityHeaders(res.headers)
  }
  assert.equal(JSON.stringify(unknownKey.body).includes('reason'), false)
})

test('a key starts a run and reads its report; another account gets 404', async () => {
  const created = await call('POST', '/v1/experiments', { key: aliceKey, body: spec({ repeats: 10 }) })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  assertSecurityHeaders(created.headers)

  const started = await call('POST', `/v1/experiments/${created.body.id}/runs`, { key: aliceKey })
  assert.equal(started.status, 202, JSON.stringify(started.body))
  const run = await waitForRun(aliceKey, started.body.runId)
  assert.equal(run.status, 'completed')

  const report = await call('GET', `/v1/runs/${run.id}/report`, { key: aliceKey })
  assert.equal(report.status, 200)
  assert.equal(report.body.runId, run.id)
  assert.equal(report.body.counts.succeeded, 20)
  assert.equal(report.headers.get('ratelimit-limit'), String(RATE_LIMIT.limit))
  assertSecurityHeaders(report.headers)

  // Bob's key: Alice's report, run and experiment are indistinguishable from missing ones.
  for (const path of [`/v1/runs/${run.id}/report`, `/v1/runs/${run.id}`]) {
    const res = await call('GET', path, { key: bobKey })
    assert.equal(res.status, 404, path)
    assert.equal(res.body.error.code, 'not_found')
    assertSecurityHeaders(res.headers)
  }
  const steal = await call('POST', `/v1/experiments/${created.body.id}/runs`, { key: bobKey })
  assert.equal(steal.status, 404)
})

test('bad input is a 400 naming the field; unknown routes 404, wrong methods 405', async () => {
  const bad = spec()
  bad.repeats = 0
  const res = await call('POST', '/v1/experiments', { key: aliceKey, body: bad })
  assert.equal(res.status, 400)
  assert.equal(res.body.error.field, 'spec.repeats')
  assert.equal((await call('GET', '/v1/nothing', { key: aliceKey })).status, 404)
  assert.equal((await call('DELETE', '/v1/account', { key: aliceKey })).status, 405)
  assert.equal((await call('GET', '/v1/runs/not-a-uuid', { key: aliceKey })).status, 400)
})

test('a read-only key cannot start runs (403)', async () => {
  const reader = (await echo.createApiKey(alice.principal, { name: 'reader', scopes: ['experiments:read'] })).secret
  const created = await call('POST', '/v1/experiments', { key: reader, body: spec() })
  assert.equal(created.status, 403)
  assert.equal(created.body.error.code, 'permission_denied')
})

test('the rate limit answers 429 with Retry-After and RateLimit headers', async () => {
  const { principal } = await newAccount(echo, 'Hammer Inc')
  const key = (await echo.createApiKey(principal, { name: 'hammer', scopes: SCOPES })).secret
  let last
  for (let i = 0; i < RATE_LIMIT.limit; i++) {
    last = await call('GET', '/v1/account', { key })
    assert.equal(last.status, 200, `request ${i + 1}`)
  }
  assert.equal(last.headers.get('ratelimit-remaining'), '0')
  const refused = await call('GET', '/v1/account', { key })
  assert.equal(refused.status, 429)
  assert.equal(refused.body.error.code, 'rate_limited')
  const retryAfter = Number(refused.headers.get('retry-after'))
  assert.ok(retryAfter >= 1 && retryAfter <= RATE_LIMIT.windowSecs, String(retryAfter))
  assert.equal(refused.headers.get('ratelimit-limit'), String(RATE_LIMIT.limit))
  assert.equal(refused.headers.get('ratelimit-remaining'), '0')
  assert.ok(Number(refused.headers.get('ratelimit-reset')) >= 1)
  assertSecurityHeaders(refused.headers)
  // Limits are per key: Alice is unaffected.
  assert.equal((await call('GET', '/v1/account', { key: aliceKey })).status, 200)
  assert.ok(Principal)
})

test("the caller's address, user agent and request id reach the audit trail", async () => {
  const res = await call('POST', '/v1/experiments', {
    key: aliceKey,
    body: spec({ name: 'audited' }),
    headers: { 'x-request-id': 'req-test-1', 'user-agent': 'audit-test/1.0' },
  })
  assert.equal(res.status, 201)
  assert.equal(res.headers.get('x-request-id'), 'req-test-1')
  const { events } = await echo.auditEvents(Principal.admin(), {
    accountId: alice.account.id,
    action: 'experiment.create',
  })
  const event = events.find((e) => e.target?.id === res.body.id)
  assert.ok(event, 'the creation was audited')
  assert.deepEqual(event.request, { ip: '127.0.0.1', userAgent: 'audit-test/1.0', requestId: 'req-test-1' })
  assert.equal(event.actor.kind, 'api_key')
  // A request id that is not a sane token is replaced, not recorded.
  const odd = await call('GET', '/v1/account', { key: aliceKey, headers: { 'x-request-id': 'a b<c>' } })
  assert.match(odd.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
})

test('a run without the consent the deployment requires is a 403 consent_required', async () => {
  const strict = await openEngine({ requireConsent: 'data_processing' })
  const strictServer = createServer({ echo: strict, rateLimit: RATE_LIMIT })
  await new Promise((resolve) => strictServer.listen(0, '127.0.0.1', resolve))
  try {
    const at = `http://127.0.0.1:${strictServer.address().port}`
    const { principal } = await newAccount(strict, 'Careful Co')
    const key = (await strict.createApiKey(principal, { name: 'k', scopes: SCOPES })).secret
    const created = await call('POST', '/v1/experiments', { key, body: spec(), base: at })
    assert.equal(created.status, 201)
    const refused = await call('POST', `/v1/experiments/${created.body.id}/runs`, { key, base: at })
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error.code, 'consent_required')
    assert.equal(refused.body.error.purpose, 'data_processing')
    await strict.recordConsent(principal, { purpose: 'data_processing', policyVersion: 'v1', granted: true })
    const started = await call('POST', `/v1/experiments/${created.body.id}/runs`, { key, base: at })
    assert.equal(started.status, 202)
    // Let the run finish before the engine closes under it.
    let run
    for (let i = 0; i < 400 && !['completed', 'partial', 'failed'].includes(run?.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      run = await strict.getRun(principal, started.body.runId)
    }
    assert.equal(run.status, 'completed')
  } finally {
    await new Promise((resolve) => strictServer.close(resolve))
    await strict.close()
  }
})
