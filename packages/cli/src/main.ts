#!/usr/bin/env node
import { run } from './cli.js'

// The `yiqian` command. `serve` keeps the process alive; every other command ends with its exit code.
const code = await run(process.argv.slice(2))
if (code !== 0) process.exitCode = code
