#!/usr/bin/env node
// The installed command runs the compiled CLI; `npm run build` (or `npm start`) produces it.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('yiqian 尚未构建，请先在仓库根目录运行 npm run build / not built yet: run "npm run build"\n')
  process.exit(2)
}
await import(entry.href)
