// Correlation ids through the Node API: per run (`RunOptions.correlationId`) or per request
// (`Principal.withRequest({ correlationId })`), stored on the run and written into its
// `run.enqueue` audit event. A run enqueued without one has `correlationId` undefined.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { ManualClock, Principal } from 'echo-ai'

import { newAccount, openEngine, spec } from './helpers.mjs'

const admin = Principal.admin()

let clock
let echo
before(async () => {
  clock = new ManualClock('2026-04-01T08:00:00.000Z')
  echo = await openEngine({ clock })
})
after(async () => {
  await echo.close()
})

/** The `run.enqueue` audit event of `runId`. */
async function enqueueEvent(accountId, runId) {
  const { events } = await echo.auditEvents(admin, { accountId, action: 'run.enqueue' })
  const mine = events.filter((e) => e.target?.id === runId)
  assert.equal(mine.length, 1, `one run.enqueue event for ${runId}`)
  return mine[0]
}

test('a run started with a correlation id keeps it, and its run.enqueue event carries it', async () => {
  const { account, principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 1 }))
  const handle = await echo.startRun(principal, experiment.id, { correlationId: 'corr-node-1' })
  assert.equal((await handle.wait()).status, 'completed')

  const run = await echo.getRun(principal, handle.runId)
  assert.equal(run.correlationId, 'corr-node-1')
  const listed = (await echo.listRuns(principal, experiment.id)).items.find((r) => r.id === handle.runId)
  assert.equal(listed.correlationId, 'corr-node-1')

  const event = await enqueueEvent(account.id, handle.runId)
  assert.equal(event.result, 'success')
  assert.equal(event.request.correlationId, 'corr-node-1')
})

test('a run enqueued without a correlation id has none (undefined, not null)', async () => {
  const { account, principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 1 }))
  const enqueued = await echo.enqueueRun(principal, experiment.id)
  assert.equal(enqueued.correlationId, undefined)
  const run = await echo.getRun(principal, enqueued.id)
  assert.equal(run.correlationId, undefined)
  assert.ok(!('correlationId' in run), 'the property is absent')
  assert.equal((await enqueueEvent(account.id, enqueued.id)).request.correlationId, undefined)

  // A blank one counts as none.
  const blank = await echo.enqueueRun(principal, experiment.id, { correlationId: '   ' })
  assert.equal((await echo.getRun(principal, blank.id)).correlationId, undefined)
})

test("the principal's request correlation id applies when the option is absent; the option wins", async () => {
  const { account, principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 1 }))
  const fromRequest = principal.withRequest({ requestId: 'req-7', correlationId: 'corr-req-7' })
  assert.deepEqual(fromRequest.request, { requestId: 'req-7', correlationId: 'corr-req-7' })

  const inherited = await echo.enqueueRun(fromRequest, experiment.id)
  assert.equal(inherited.correlationId, 'corr-req-7')
  assert.equal((await echo.getRun(principal, inherited.id)).correlationId, 'corr-req-7')
  assert.deepEqual((await enqueueEvent(account.id, inherited.id)).request, {
    requestId: 'req-7',
    correlationId: 'corr-req-7',
  })

  const explicit = await echo.enqueueRun(fromRequest, experiment.id, { correlationId: 'corr-explicit' })
  assert.equal((await echo.getRun(principal, explicit.id)).correlationId, 'corr-explicit')
  assert.deepEqual((await enqueueEvent(account.id, explicit.id)).request, {
    requestId: 'req-7',
    correlationId: 'corr-explicit',
  })
})

test("echo.now() is the engine's clock", () => {
  assert.equal(echo.now(), clock.now())
  clock.advance(90)
  assert.equal(echo.now(), '2026-04-01T08:01:30.000Z')
})
