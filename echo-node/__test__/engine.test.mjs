// The whole flow through the Node API: accounts, experiments, runs with progress, reports,
// comparisons, series, plans, estimates, adaptive runs, quotas, rate limits, schedules and a
// worker.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Principal, RunHandle } from 'echo-ai'

import { SIM_TARGET, newAccount, openEngine, spec } from './helpers.mjs'

let echo
before(async () => {
  echo = await openEngine()
})
after(async () => {
  await echo.close()
})

test('Echo.open reports its backend and providers', () => {
  assert.equal(echo.backend, 'sqlite')
  assert.deepEqual(echo.providerIds, ['simulated'])
})

test('accounts and experiments round-trip as plain objects', async () => {
  const { account, principal } = await newAccount(echo, 'Round Trip Inc.')
  assert.match(account.id, /^[0-9a-f-]{36}$/)
  assert.equal(account.tier, 'pro')
  assert.match(account.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  assert.deepEqual(await echo.getAccount(principal), account)

  const created = await echo.createExperiment(principal, spec())
  assert.equal(created.accountId, account.id)
  assert.equal(created.spec.brands[0].role, 'target')
  assert.equal(created.spec.brands[1].role, 'competitor', 'core default applied')
  assert.equal(created.spec.webSearch, false)
  assert.deepEqual(await echo.getExperiment(principal, created.id), created)

  const updated = await echo.updateExperiment(principal, created.id, { ...spec(), name: 'Renamed' })
  assert.equal(updated.spec.name, 'Renamed')
  const page = await echo.listExperiments(principal, { limit: 10 })
  assert.deepEqual(
    page.items.map((e) => e.id),
    [created.id],
  )
  assert.equal(page.nextCursor, undefined)
  await echo.deleteExperiment(principal, created.id)
  assert.equal((await echo.listExperiments(principal)).items.length, 0)
})

test('a run streams progress to a callback and an async iterator, then reports', async () => {
  const { principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 20 }))
  const handle = await echo.startRun(principal, experiment.id, { seed: 11 })
  assert.ok(handle instanceof RunHandle)

  const seenByCallback = []
  handle.onProgress((p) => seenByCallback.push(p))
  const seenByIterator = []
  for await (const p of handle) seenByIterator.push(p)
  const report = await handle.wait()

  const last = seenByIterator.at(-1)
  assert.equal(last.finished, true)
  assert.equal(last.status, 'completed')
  assert.equal(last.succeeded, 40)
  assert.equal(last.done + last.remaining, last.planned)
  for (let i = 1; i < seenByIterator.length; i++) {
    assert.ok(seenByIterator[i].done >= seenByIterator[i - 1].done, 'progress never goes back')
  }
  assert.equal(handle.progress().status, 'completed')

  assert.equal(report.runId, handle.runId)
  assert.equal(report.status, 'completed')
  assert.equal(report.counts.succeeded, 40)
  assert.equal(report.cells.length, 2)
  assert.deepEqual(report.byTarget[0].target, SIM_TARGET)
  const hubspot = report.overall.brands.find((b) => b.brand === 'HubSpot')
  assert.equal(hubspot.role, 'target')
  assert.equal(hubspot.visibility.trials, 40)
  assert.ok(hubspot.visibility.interval.lower <= hubspot.visibility.estimate)
  assert.ok(hubspot.visibility.estimate <= hubspot.visibility.interval.upper)
  assert.ok(hubspot.visibilityClustered, 'two prompts: clustered interval present')

  // The same report is read back from the database.
  const again = await echo.report(principal, handle.runId)
  assert.deepEqual({ ...again, generatedAt: null }, { ...report, generatedAt: null })
  await assert.rejects(handle.wait(), { code: 'conflict', message: /already called/ })

  const run = await echo.getRun(principal, handle.runId)
  assert.equal(run.status, 'completed')
  assert.equal(run.seed, '11')
  assert.equal(run.plannedSamples, 40)
  assert.deepEqual(
    (await echo.listRuns(principal, experiment.id)).items.map((r) => r.id),
    [run.id],
  )

  // The callback is weak: it delivered what it was given before the run ended.
  await new Promise((resolve) => setImmediate(resolve))
  assert.ok(seenByCallback.length >= 1)
  assert.ok(seenByCallback.every((p) => p.runId === handle.runId))
})

test('a cancelled run ends cancelled', async () => {
  const slow = await openEngine({ simulated: { seed: 1, latencyMs: 50, maxConcurrency: 2 } })
  try {
    const { principal: p2 } = await newAccount(slow)
    const experiment = await slow.createExperiment(p2, spec({ repeats: 50 }))
    const handle = await slow.startRun(p2, experiment.id)
    handle.cancel()
    const report = await handle.wait()
    assert.equal(report.status, 'cancelled')
    assert.ok(report.counts.cancelled > 0)
  } finally {
    await slow.close()
  }
})

test('compareRuns, visibilitySeries, plan and estimate', async () => {
  const { principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 10 }))
  const runs = []
  for (const seed of [1, 2]) {
    const handle = await echo.startRun(principal, experiment.id, { seed })
    await handle.wait()
    runs.push(handle.runId)
  }
  const comparison = await echo.compareRuns(principal, runs[0], runs[1])
  assert.equal(comparison.alpha, 0.05)
  assert.equal(comparison.before, runs[0])
  const overall = comparison.changes.find((c) => c.brand === 'HubSpot' && c.target === undefined)
  assert.ok(overall, JSON.stringify(comparison.changes.slice(0, 1)))
  assert.ok(['two_proportion_z', 'fisher_exact'].includes(overall.visibility.test))
  assert.ok(overall.visibility.pValue >= 0 && overall.visibility.pValue <= 1)

  const series = await echo.visibilitySeries(principal, experiment.id, 10)
  const hubspot = series.find((s) => s.brand === 'HubSpot' && s.target === undefined)
  assert.deepEqual(
    hubspot.points.map((p) => p.runId),
    runs,
  )
  assert.equal(hubspot.points[0].change, undefined)
  assert.ok(hubspot.points[1].change)
  await assert.rejects(echo.visibilitySeries(principal, experiment.id, 0), { code: 'invalid_input', field: 'limit' })

  const plan = await echo.plan(principal, experiment.id, { halfWidth: 0.05, expectedRate: 0.2 })
  assert.ok(plan.worstCase.samplesNeeded >= plan.expected.samplesNeeded)
  assert.equal(plan.request.scope, 'target')

  const estimate = await echo.estimate(principal, experiment.id)
  assert.equal(estimate.plannedSamples, 20)
  assert.equal(estimate.targets[0].samples, 20)
})

test('quota status, rate-limit decisions with headers, maintenance', async () => {
  const { principal } = await newAccount(echo, 'quota', 'free')
  const status = await echo.quotaStatus(principal)
  assert.equal(status.tier, 'free')
  assert.equal(status.limit, 1000)
  assert.equal(status.remaining, 1000)
  assert.equal(status.maxSamplesPerRun, 500)

  const policy = { name: 'test.endpoint', limit: 2, windowSecs: 60 }
  const first = await echo.checkRateLimit(principal, policy)
  assert.equal(first.allowed, true)
  assert.equal(first.headers['RateLimit-Limit'], '2')
  assert.equal(first.headers['Retry-After'], undefined)
  await echo.checkRateLimit(principal, policy)
  const refused = await echo.checkRateLimit(principal, policy)
  assert.equal(refused.allowed, false)
  assert.equal(refused.remaining, 0)
  assert.ok(refused.retryAfter > 0)
  assert.ok(Number(refused.headers['Retry-After']) >= 1)
  // Bad arguments are refused synchronously, before a Promise exists.
  assert.throws(() => echo.checkRateLimit(principal, { name: '', limit: 1 }), { code: 'invalid_input' })

  assert.equal(typeof (await echo.expireReservations()), 'number')
  assert.equal(typeof (await echo.purgeRateLimits()), 'number')
})

test('schedules: set, read, clear', async () => {
  const { principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec())
  assert.equal(await echo.schedule(principal, experiment.id), null)
  const next = await echo.setSchedule(principal, experiment.id, { intervalSecs: 3600 })
  assert.ok(Date.parse(next) > Date.now())
  const info = await echo.schedule(principal, experiment.id)
  assert.deepEqual(info.schedule, { intervalSecs: 3600 })
  assert.equal(info.nextRunAt, next)
  assert.equal(await echo.scheduledRun(principal, experiment.id, next), null)
  await echo.setSchedule(principal, experiment.id, { cron: '0 6 * * 1' })
  assert.equal((await echo.schedule(principal, experiment.id)).schedule.cron, '0 6 * * 1')
  await assert.rejects(echo.setSchedule(principal, experiment.id, { intervalSecs: 5 }), {
    code: 'invalid_input',
    field: 'schedule.interval',
  })
  assert.equal(await echo.setSchedule(principal, experiment.id, null), null)
  assert.equal(await echo.schedule(principal, experiment.id), null)
})

test('a worker executes enqueued runs and shuts down with a report', async () => {
  const { principal } = await newAccount(echo)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 5 }))
  const run = await echo.enqueueRun(principal, experiment.id)
  assert.equal(run.status, 'pending')
  const worker = await echo.startWorker({ concurrency: 4, pollIntervalSecs: 0.05, runScheduler: false })
  assert.equal(typeof worker.owner, 'string')
  let current = run
  for (let i = 0; i < 400 && !['completed', 'partial', 'failed'].includes(current.status); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    current = await echo.getRun(principal, run.id)
  }
  assert.equal(current.status, 'completed')
  const report = await worker.shutdown(5)
  assert.equal(report.succeeded, 10)
  assert.equal(report.runsFinalized, 1)
  assert.equal(worker.report().succeeded, 10)
  await assert.rejects(worker.shutdown(), { code: 'conflict' })
})

test('an adaptive run stops once its brands are known to the precision asked', async () => {
  const { principal } = await newAccount(echo, 'adaptive')
  const experiment = await echo.createExperiment(principal, spec({ repeats: 1 }))
  // Only the own brand (HubSpot, ~75% visible in the simulator) must reach ±5 points; the
  // worst case, any brand at 50%, would need 381 answers.
  const adaptive = { goal: { halfWidth: 0.05 }, brands: 'targets' }
  const estimate = await echo.estimateAdaptive(principal, experiment.id, adaptive, 0.75)
  assert.equal(estimate.worstCase.plannedSamples, 381)
  assert.ok(estimate.expectedSamplesPerTarget < 381, String(estimate.expectedSamplesPerTarget))

  const handle = await echo.startRun(principal, experiment.id, { seed: 5, adaptive })
  const report = await handle.wait()
  assert.equal(report.status, 'completed')
  const [target] = report.adaptive.targets
  assert.deepEqual(target.target, SIM_TARGET)
  assert.equal(target.state, 'goal_reached')
  assert.ok(target.answered < 381, `stopped early: ${target.answered} of 381`)
  assert.ok(target.widestHalfWidth <= 0.05)
  assert.equal(report.counts.succeeded, target.answered)
  assert.deepEqual(report.adaptive.options, {
    goal: { halfWidth: 0.05, minSamples: 20, maxSamples: 381, confidence: 0.95 },
    brands: 'targets',
    method: 'wilson',
  })
  const run = await echo.getRun(principal, handle.runId)
  assert.equal(run.plannedSamples, 381, 'planned (and reserved) at the maximum')
  assert.deepEqual(run.adaptive, report.adaptive.options)
  const quota = await echo.quotaStatus(principal)
  assert.equal(quota.reserved, 0)
  assert.equal(quota.used, target.answered, 'the unasked samples were refunded')

  // A plan's adaptive goal can be passed as is; a fixed run has no adaptive part.
  const plan = await echo.plan(principal, experiment.id, { halfWidth: 0.1 })
  const fromPlan = await echo.estimateAdaptive(principal, experiment.id, { goal: plan.adaptive })
  assert.equal(fromPlan.worstCase.plannedSamples, plan.adaptive.maxSamples)
  const fixed = await (await echo.startRun(principal, experiment.id)).wait()
  assert.equal(fixed.adaptive, undefined)

  await assert.rejects(echo.startRun(principal, experiment.id, { adaptive: { goal: { halfWidth: 0.7 } } }), {
    code: 'invalid_input',
    field: 'options.adaptive.goal.half_width',
  })
  assert.throws(() => echo.startRun(principal, experiment.id, { adaptive: { goal: { halfWidth: 0.1 }, brands: 'mine' } }), {
    code: 'invalid_input',
    field: 'options.adaptive.brands',
  })
})
