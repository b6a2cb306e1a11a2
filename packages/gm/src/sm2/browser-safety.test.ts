import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// SM2 is bundled for browsers: nothing reachable from its modules may import a Node built-in or use Buffer.
// Walks the real import graph of the sources, so a new import anywhere below is caught.

const here = dirname(fileURLToPath(import.meta.url))
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
const entries = ['keys.ts', 'key-encoding.ts', 'signature.ts', 'encryption.ts', 'pem.ts', 'der.ts', 'scalar-bytes.ts']

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

/** Runtime imports and re-exports; type-only ones are erased by the compiler. */
function runtimeSpecifiers(source: string): string[] {
  const found: string[] = []
  for (const match of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?'([^']+)'/gm)) {
    if (!match[1]) found.push(match[2]!)
  }
  for (const match of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)|\brequire\(\s*'([^']+)'\s*\)/g)) {
    found.push((match[1] ?? match[2])!)
  }
  return found
}

function localGraph(): Map<string, { source: string; specifiers: string[] }> {
  const graph = new Map<string, { source: string; specifiers: string[] }>()
  const queue = entries.map((entry) => join(here, entry))
  while (queue.length > 0) {
    const file = queue.pop()!
    if (graph.has(file)) continue
    const source = withoutComments(readFileSync(file, 'utf8'))
    const specifiers = runtimeSpecifiers(source)
    graph.set(file, { source, specifiers })
    for (const s of specifiers) if (s.startsWith('.')) queue.push(join(dirname(file), s.replace(/\.js$/, '.ts')))
  }
  return graph
}

describe('SM2 modules are browser-safe', () => {
  const graph = localGraph()

  it('reach the modules they should', () => {
    const files = [...graph.keys()].map((file) => relative(here, file))
    expect(files).toEqual(expect.arrayContaining([...entries, 'curve.ts', 'backend.ts', '../sm3.ts', '../kdf.ts']))
    expect(files).not.toContain('native-backend.ts')
  })

  it.each([...graph.keys()].map((file) => [relative(here, file), file]))(
    '%s imports no Node built-in, no Buffer',
    (_, file) => {
      const { source, specifiers } = graph.get(file)!
      expect(specifiers.filter((s) => builtins.has(s))).toEqual([])
      expect(source).not.toMatch(/\bBuffer\b(?!Source)/)
    },
  )
})
