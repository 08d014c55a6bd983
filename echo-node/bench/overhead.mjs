// Binding overhead of echo-ai, against the same work in Rust (examples/node_overhead.rs):
//   - a synchronous call (validateTarget) and an async database read (getAccount), each
//     repeated; the difference from Rust is what the binding costs per call;
//   - fetching the report of a 10,000-sample run (built from the stored answers).
//
//   cd echo-node && npm run build && node bench/overhead.mjs
//   cargo run --release -p echo-node --example node_overhead      # the Rust side
//
// Prints one JSON object; numbers are medians in microseconds.
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

import { Echo, Principal, validateTarget } from 'echo-ai'

const workload = JSON.parse(readFileSync(new URL('./workload.json', import.meta.url), 'utf8'))

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function timeEach(n, fn) {
  const samples = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn()
    samples.push((performance.now() - t0) * 1000)
  }
  return samples
}

const echo = await Echo.open({ simulated: { seed: workload.seed }, quota: 'unmetered' })
const account = await echo.createAccount(Principal.admin(), { name: 'bench' })
const me = Principal.host(account.id)

// Synchronous call: total time over many calls (a single one is below timer resolution).
let t0 = performance.now()
for (let i = 0; i < workload.syncIterations; i++) validateTarget('openai/gpt-4o-mini')
const syncUs = ((performance.now() - t0) * 1000) / workload.syncIterations

await timeEach(200, () => echo.getAccount(me)) // warm-up
const getAccount = await timeEach(workload.callIterations, () => echo.getAccount(me))

const experiment = await echo.createExperiment(me, workload.spec)
t0 = performance.now()
const handle = await echo.startRun(me, experiment.id, { seed: workload.seed })
const finalReport = await handle.wait()
const runMs = performance.now() - t0
if (finalReport.counts.succeeded !== 10000) throw new Error(`expected 10000 answers, got ${finalReport.counts.succeeded}`)

await echo.report(me, handle.runId) // warm-up
const report = await timeEach(workload.reportIterations, () => echo.report(me, handle.runId))

console.log(
  JSON.stringify(
    {
      side: 'node',
      sync_call_us: Number(syncUs.toFixed(3)),
      get_account_us_median: Number(median(getAccount).toFixed(1)),
      run_10k_ms: Math.round(runMs),
      report_10k_us_median: Math.round(median(report)),
      report_json_bytes: JSON.stringify(finalReport).length,
    },
    null,
    2,
  ),
)
await echo.close()
