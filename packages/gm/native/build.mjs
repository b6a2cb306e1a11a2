#!/usr/bin/env node
// Builds yiqian_gm.node with node-gyp against the headers of the node that runs this script, offline when that node
// ships its headers (Linux packages and the official tarballs install <prefix>/include/node, OpenSSL's included).
//
//   node native/build.mjs              build; exit 1 on failure (npm run build:native)
//   node native/build.mjs --optional   build; on failure warn and exit 0 (the package's install script: a missing
//                                      compiler must never break `npm ci`, the TS loader then falls back to noble)
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const optional = process.argv.includes('--optional')
const here = dirname(fileURLToPath(import.meta.url))
const output = join(here, 'build', 'Release', 'yiqian_gm.node')

function nodeGyp() {
  // npm exports its bundled node-gyp to every lifecycle script; outside npm, look next to this node's npm.
  const bundled = join('npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
  const bin = dirname(process.execPath)
  const candidates = [
    process.env.npm_config_node_gyp,
    join(bin, '..', 'lib', 'node_modules', bundled), // Unix: <prefix>/bin/node, <prefix>/lib/node_modules/npm
    join(bin, 'node_modules', bundled), // Windows: node.exe beside node_modules\npm
  ]
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js')
  } catch {
    return undefined
  }
}

// node-gyp wants a directory holding include/node (with common.gypi); the install prefix of this node is one when
// it ships headers. Without it node-gyp would download them from nodejs.org.
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir
  const prefix = join(dirname(process.execPath), '..')
  const include = join(prefix, 'include', 'node')
  const complete = ['common.gypi', 'node_api.h', join('openssl', 'ec.h')].every((f) => existsSync(join(include, f)))
  return complete ? prefix : undefined
}

function build() {
  const gyp = nodeGyp()
  if (!gyp) return 'node-gyp not found (it ships with npm)'
  const dir = nodeDir()
  // node-gyp lets npm_config_* from the environment override its command line, and npm exports an empty
  // npm_config_nodedir when the option is blank, so the environment is where the choice has to go.
  const env = { ...process.env }
  if (dir) env.npm_config_nodedir = dir
  else delete env.npm_config_nodedir
  const result = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: here, env, stdio: 'inherit', timeout: 300_000 })
  if (result.error) return result.error.message
  if (result.status !== 0) return `node-gyp exited with ${result.status ?? result.signal}`
  return smokeTest()
}

// 1·G must come back as the SM2 generator: catches an addon that builds but links or loads wrongly.
function smokeTest() {
  try {
    const addon = createRequire(import.meta.url)(output)
    const one = new Uint8Array(32)
    one[31] = 1
    const g = Buffer.from(addon.mulBase(one)).toString('hex')
    const expected =
      '0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7' +
      'bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0'
    if (g !== expected) return `smoke test: 1·G came back as ${g}`
    console.log(`yiqian_gm.node built against ${addon.opensslVersion}`)
    return undefined
  } catch (error) {
    return `smoke test: ${error instanceof Error ? error.message : String(error)}`
  }
}

const failure = build()
if (failure) {
  console.error(`@yiqian/gm: the native SM2 addon was not built: ${failure}`)
  if (optional) {
    console.error('@yiqian/gm: SM2 falls back to @noble/curves (correct, but verification 8-10x slower).')
    console.error('@yiqian/gm: retry with `npm run build:native -w @yiqian/gm`.')
  } else {
    process.exitCode = 1
  }
}
