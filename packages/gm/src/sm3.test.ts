import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { sm3 } from './index.js'

// Published vectors (GB/T 32905), copied from the shared vector set into the repository.
const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/gm-vectors.json', import.meta.url), 'utf8')) as {
  sm3: Array<{ message_ascii: string; digest: string }>
}

/** The vector file writes the long message as "abcd repeated 16 times (64 bytes)". */
function messageOf(text: string): Buffer {
  const repeated = /^(\S+) repeated (\d+) times/.exec(text)
  return Buffer.from(repeated ? repeated[1]!.repeat(Number(repeated[2])) : text, 'ascii')
}

describe('sm3', () => {
  it.each(vectors.sm3.map((v) => [v.message_ascii, v] as const))('matches the published vector for %s', (_, v) => {
    expect(Buffer.from(sm3(messageOf(v.message_ascii))).toString('hex')).toBe(v.digest.toLowerCase())
  })

  it('tells different inputs apart', () => {
    expect(Buffer.from(sm3('abc'))).not.toEqual(Buffer.from(sm3('abd')))
  })
})
