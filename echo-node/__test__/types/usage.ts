// Compiled (not run) by `tsc --noEmit` in the Node tests: the declarations must accept
// this typical host code as written.
import {
  Echo,
  EchoError,
  type ExperimentSpec,
  Principal,
  type Progress,
  RateLimitedError,
  type Report,
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
  const handle = await echo.startRun(me, experiment.id, { seed: 1 })
  handle.onProgress((p: Progress) => void p.done)
  for await (const p of handle) {
    if (p.status === 'completed') break
  }
  const report: Report = await handle.wait()
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
  const summary = await worker.shutdown(1)
  await echo.close()
  return report.overall.answered + summary.claimed
}
