// Must NOT compile: misspelled fields and a missing required one. Proves the type check
// in exports.test.cjs can fail.
import { Echo, Principal } from 'echo-ai'

export async function wrong(echo: Echo, me: Principal, id: string): Promise<void> {
  await echo.plan(me, id, { halfWidht: 0.05 })
  await echo.createExperiment(me, { name: 'x', prompts: [], brands: [], targets: [] })
  await echo.startRun(me, id, { adaptive: { goal: { halfwidth: 0.1 } } })
}
