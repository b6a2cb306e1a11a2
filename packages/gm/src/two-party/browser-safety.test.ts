import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The phone's half runs in a browser: neither client.ts nor anything it imports may load a Node built-in at run
// time or touch Buffer. This walks the real import graph of the sources, so a new import anywhere below is caught.

const here = dirname(fileURLToPath(import.meta.url))
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

/** Runtime imports and re-exports (type-only ones are erased by the compiler and may name anything). */
function runtimeSpecifiers(source: string): string[] {
  const specifiers: string[] = []
  const pattern = /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?'([^']+)'/gm
  for (const match of source.matchAll(pattern)) {
    if (!match[1]) specifiers.push(match[2]!)
  }
  for (const match of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)|\brequire\(\s*'([^']+)'\s*\)/g)) {
    specifiers.push((match[1] ?? match[2])!)
  }
  return specifiers
}

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (graph.has(file)) continue
    const specifiers = runtimeSpecifiers(readFileSync(file, 'utf8'))
    graph.set(file, specifiers)
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) queue.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')))
    }
  }
  return graph
}

describe('the client half is browser-safe', () => {
  it('the import scanner sees runtime imports and ignores type-only ones', () => {
    const sample =
      "import type { Hash } from 'node:crypto'\nimport {\n  a,\n} from 'node:fs'\nexport { b } from './b.js'"
    expect(runtimeSpecifiers(sample)).toEqual(['node:fs', './b.js'])
    expect(runtimeSpecifiers("const os = require('os')")).toEqual(['os'])
  })

  const graph = importGraph(join(here, 'client.ts'))

  it('reaches the shared modules it needs', () => {
    const files = [...graph.keys()].map((file) => relative(here, file)).sort()
    expect(files).toEqual(expect.arrayContaining(['client.ts', 'proofs.ts', 'messages.ts', '../sm3.ts']))
  })

  it.each([...graph.keys()].map((file) => [relative(here, file), file]))('%s imports no Node built-in', (_, file) => {
    const nodeImports = graph.get(file)!.filter((specifier) => builtins.has(specifier) || specifier.startsWith('node:'))
    expect(nodeImports).toEqual([])
  })

  it.each([...graph.keys()].map((file) => [relative(here, file), file]))('%s does not use Buffer', (_, file) => {
    expect(withoutComments(readFileSync(file, 'utf8'))).not.toMatch(/\bBuffer\b/)
  })
})
