// What keeps a Node process alive: an `onProgress` callback must not. A child process
// starts a run that would take minutes, registers a callback, sees it called, and does not
// await the run: it must exit on its own, promptly and cleanly.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'

const ENTRY = new URL('../index.mjs', import.meta.url).href

/**
 * Runs `source` as an ES module in a child `node`; resolves with its exit code, signal,
 * output and whether it had to be killed after `timeoutMs`.
 */
function runChild(source, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, timeoutMs)
    const started = Date.now()
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, killed, ms: Date.now() - started })
    })
  })
}

test('an onProgress callback does not keep the process alive', async () => {
  // 60 samples, one at a time, 2 s each: two minutes if something waited for the run.
  const source = `
    import { Echo, Principal } from ${JSON.stringify(ENTRY)}
    const echo = await Echo.open({ simulated: { seed: 1, latencyMs: 2000, maxConcurrency: 1 } })
    const account = await echo.createAccount(Principal.admin(), { name: 'child', tier: 'pro' })
    const me = Principal.host(account.id)
    const experiment = await echo.createExperiment(me, {
      name: 'slow',
      prompts: ['Which CRM?'],
      brands: [{ name: 'HubSpot', role: 'target' }],
      targets: [{ provider: 'simulated', model: 'sim-1' }],
      repeats: 60,
    })
    const run = await echo.startRun(me, experiment.id)
    let calls = 0
    run.onProgress(() => { calls += 1 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    process.stdout.write('callbacks=' + calls + ' finished=' + run.progress().finished + '\\n')
    // No await of run.wait(): the script ends here, with the run still executing.
  `
  const result = await runChild(source, 30_000)
  assert.equal(result.killed, false, `the process was still alive after 30 s (run: 2 min): ${result.stderr}`)
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.signal, null)
  const match = /callbacks=(\d+) finished=(\w+)/.exec(result.stdout)
  assert.ok(match, result.stdout + result.stderr)
  assert.ok(Number(match[1]) >= 1, 'the callback was called while the script ran')
  assert.equal(match[2], 'false', 'the run was still executing when the script ended')
})

test('the harness does notice a process that stays alive (the check above can fail)', async () => {
  const result = await runChild('setInterval(() => {}, 1000)', 1500)
  assert.equal(result.killed, true)
})
