// Compiled (not run) by `tsc --noEmit` in the Node tests: the declarations must accept
// this typical host code as written.
import {
  type AdaptiveEstimate,
  type AuditEvent,
  type AuditPage,
  ConsentRequiredError,
  DATA_PROCESSING,
  type DeletionRequest,
  Echo,
  EchoError,
  type ExperimentSpec,
  ManualClock,
  PermissionDeniedError,
  Principal,
  type Progress,
  RateLimitedError,
  type Report,
  type RetentionReport,
  type Run,
  auditActions,
} from 'echo-ai'

export async function usage(): Promise<number> {
  const echo: Echo = await Echo.open({ database: ':memory:', simulated: { seed: 1 } })
  const account = await echo.createAccount(Principal.admin(), { name: 'acme', tier: 'pro' })
  const me = Principal.host(account.id)
  const spec: ExperimentSpec = {
    name: 'crm',
    prompts: ['best crm?'],
    brands: [{ name: 'HubSpot', role: 'target' }, { name: 'Salesforce', case: 'auto' }],
    targets: [{ provider: 'simulated', model: 'm' }],
    repeats: 3,
  }
  const experiment = await echo.createExperiment(me, spec)
  const handle = await echo.startRun(me, experiment.id, { seed: 1, correlationId: 'corr-1' })
  handle.onProgress((p: Progress) => void p.done)
  for await (const p of handle) {
    if (p.status === 'completed') break
  }
  const report: Report = await handle.wait()
  const run: Run = await echo.getRun(me, handle.runId)
  const correlationId: string | undefined = run.correlationId
  const traced = me.withRequest({ requestId: 'r2', correlationId: correlationId ?? 'corr-2' })
  await echo.enqueueRun(traced, experiment.id)
  const now: string = echo.now()
  void now
  const decision = await echo.checkRateLimit(me, { name: 'api', limit: 10 })
  const headers: Record<string, string> = decision.headers
  void headers
  try {
    await echo.plan(me, experiment.id, { halfWidth: 0.05 })
  } catch (err) {
    if (err instanceof RateLimitedError) return err.retryAfter ?? 0
    if (err instanceof EchoError && err.code === 'not_found') return -1
  }
  const worker = await echo.startWorker({ concurrency: 2 })
  await privacy()
  const summary = await worker.shutdown(1)
  await echo.close()
  return report.overall.answered + summary.claimed
}

/** The privacy, data-subject and audit surface, and adaptive runs. */
export async function privacy(): Promise<number> {
  const clock = new ManualClock('2026-01-01T00:00:00.000Z')
  const echo = await Echo.open({
    simulated: { seed: 1 },
    clock,
    requireConsent: [DATA_PROCESSING],
    retentionPolicy: { rawAnswerTtlSecs: 30 * 86400, auditTtlSecs: 365 * 86400 },
    deletionGraceSecs: 7 * 86400,
    erasureBatch: 500,
  })
  const admin = Principal.admin()
  const account = await echo.createAccount(admin, { name: 'acme' })
  const me = Principal.host(account.id).withRequest({ ip: '203.0.113.1', userAgent: 'ua', requestId: 'r1' })
  await echo.recordConsent(me, { purpose: DATA_PROCESSING, policyVersion: '2025-01', granted: true })
  const consents = await echo.consents(me)
  const settings = await echo.setPrivacySettings(me, { redactPii: true })
  const experiment = await echo.createExperiment(me, {
    name: 'crm',
    prompts: ['best crm?'],
    brands: [{ name: 'HubSpot', role: 'target' }],
    targets: [{ provider: 'simulated', model: 'm' }],
    repeats: 1,
  })
  const plan = await echo.plan(me, experiment.id, { halfWidth: 0.1 })
  const estimate: AdaptiveEstimate = await echo.estimateAdaptive(me, experiment.id, { goal: plan.adaptive, brands: 'targets' })
  let report: Report | undefined
  try {
    const handle = await echo.startRun(me, experiment.id, { adaptive: { goal: { halfWidth: 0.1, maxSamples: 200 } } })
    report = await handle.wait()
  } catch (err) {
    if (err instanceof ConsentRequiredError) return err.withdrawn ? -2 : -1
  }
  const stopped = report?.adaptive?.targets.every((t) => t.state === 'goal_reached') ?? false
  clock.advance(31 * 86400)
  const retention: RetentionReport = await echo.applyRetention(admin)
  const policySecs: number = echo.retentionPolicy().rawAnswerTtlSecs
  const page: AuditPage = await echo.auditEvents(admin, { accountId: account.id, action: 'run.enqueue', limit: 10 })
  const events: AuditEvent[] = page.events
  const head = await echo.auditHead(admin)
  const verified = (await echo.verifyAuditChainAgainst(admin, head)).ok && (await echo.verifyAuditChain(admin)).ok
  await echo.purgeAuditEvents(new Date(Date.parse(clock.now()) - 365 * 86400 * 1000).toISOString())
  const exported = await echo.exportAccount(me)
  const summary = await echo.exportAccountToFile(me, '/tmp/acme.json')
  const request: DeletionRequest = await echo.requestDeletion(me)
  try {
    await echo.getAccount(me)
  } catch (err) {
    if (err instanceof PermissionDeniedError && err.accountStatus === 'deletion_pending') void err.deadline
  }
  await echo.cancelDeletion(admin.actingFor(account.id))
  const requests = await echo.deletionRequests(me)
  const pass = await echo.eraseDueAccounts(10)
  const erased = pass.completed.map((r) => r.rowsDeleted['samples'] ?? 0)
  await echo.eraseAuditPersonalData(account.id)
  await echo.close()
  return (
    consents.current.length +
    settings.phoneRegions.length +
    estimate.expectedSamplesPerTarget +
    Number(stopped) +
    retention.samplesAnonymized +
    policySecs +
    events.length +
    Number(verified) +
    JSON.parse(exported.bundle).counts.samples +
    summary.bytes +
    request.keysRevoked +
    requests.length +
    erased.length +
    auditActions().length
  )
}
