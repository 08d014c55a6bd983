#!/usr/bin/env node
'use strict'
// Builds the native add-on when it is missing: the `install` script of echo-ai.
//
// `npm install ./echo-node` on a fresh machine has no prebuilt binary and none of the
// package's devDependencies (the napi CLI), so this compiles the `echo-node` crate with
// plain cargo (a Rust toolchain is required) and copies the library to the file name the
// generated loader (index.js) looks for: echo-ai.<platform>-<arch>[-<abi>].node.
//
// Skipped when a binary for this platform is already there, when ECHO_NODE_SKIP_BUILD=1,
// and when npm installs the package's own development dependencies (in echo-node itself:
// developers build with `npm run build` / `make node-build`).
//
// ECHO_NODE_PROFILE=debug builds faster and runs slower (default: release).

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const packageDir = path.resolve(__dirname, '..')
const workspaceManifest = path.resolve(packageDir, '..', 'Cargo.toml')

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    return Boolean(report && !report.header?.glibcVersionRuntime)
  }
}

/** The platform suffix napi's loader uses (linux-x64-gnu, darwin-arm64, win32-x64-msvc). */
function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** The file cargo writes for the cdylib. */
function libraryName() {
  if (process.platform === 'win32') return 'echo_node.dll'
  if (process.platform === 'darwin') return 'libecho_node.dylib'
  return 'libecho_node.so'
}

function main() {
  const target = path.join(packageDir, `echo-ai.${platformSuffix()}.node`)
  if (process.env.ECHO_NODE_SKIP_BUILD === '1') return
  if (fs.existsSync(target)) return
  // `npm install` inside echo-node installs its dev tools; the developer builds explicitly.
  if (process.env.INIT_CWD && path.resolve(process.env.INIT_CWD) === packageDir) return
  if (!fs.existsSync(workspaceManifest)) {
    throw new Error(
      `no prebuilt binary ${path.basename(target)} and no Echo workspace at ${workspaceManifest} to build one from`,
    )
  }
  const cargo = process.env.CARGO || 'cargo'
  if (spawnSync(cargo, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('building echo-ai needs a Rust toolchain: install it from https://rustup.rs and retry')
  }
  const profile = process.env.ECHO_NODE_PROFILE === 'debug' ? 'debug' : 'release'
  const args = ['build', '--manifest-path', workspaceManifest, '-p', 'echo-node', '--lib']
  if (profile === 'release') args.push('--release')
  console.error(`echo-ai: building the native add-on (cargo ${args.join(' ')}); this takes a few minutes once`)
  execFileSync(cargo, args, { stdio: 'inherit' })
  const metadata = JSON.parse(
    execFileSync(cargo, ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', workspaceManifest], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    }),
  )
  const built = path.join(metadata.target_directory, profile, libraryName())
  fs.copyFileSync(built, target)
  console.error(`echo-ai: built ${path.basename(target)}`)
}

try {
  main()
} catch (err) {
  console.error(`echo-ai: ${err.message}`)
  process.exit(1)
}
