import type { TsaTokenRecord, UnitOfWork } from '@yiqian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestStorage, testDialects } from '../testing.js'

const T0 = Date.parse('2026-11-28T08:00:00.000Z')
const at = (seconds: number) => new Date(T0 + seconds * 1000)

function token(i: number, overrides: Partial<TsaTokenRecord> = {}): TsaTokenRecord {
  return {
    serialHex: (0x1000 + i).toString(16).padStart(32, '0'),
    unitId: 'tsa-0000000000000001',
    certificateSerial: '0a',
    genTime: at(Math.floor(i / 10)),
    hashAlgorithm: 'SM3',
    imprint: 'ab'.repeat(32),
    policy: '0.4.0.2023.1.1',
    requesterIp: i % 2 ? '10.0.0.1' : '10.0.0.2',
    ...overrides,
  }
}

for (const kind of testDialects()) {
  describe(`${kind}: TSA repository`, () => {
    let uow: UnitOfWork
    let close = async () => {}

    beforeAll(async () => {
      ;({ uow, close } = await openTestStorage(kind, { now: () => at(0) }))
    })
    afterAll(() => close())

    it('inserts a large batch in chunks and counts it; a repeated serial fails the whole batch', async () => {
      const batch = Array.from({ length: 1203 }, (_, i) =>
        token(i, i === 7 ? { nonce: '0f', clientSystemId: 'cs-1' } : {}),
      )
      await uow.run((tx) => tx.tsa.insertTokens(batch))
      expect(await uow.read((tx) => tx.tsa.countTokens())).toBe(1203)
      expect(await uow.read((tx) => tx.tsa.countTokens(at(100)))).toBe(1203 - 1000)
      await expect(uow.run((tx) => tx.tsa.insertTokens([token(5000), token(3)]))).rejects.toThrow()
      // Rolled back together: the new one is not there either.
      expect(await uow.read((tx) => tx.tsa.countTokens())).toBe(1203)
      const [found] = await uow.read((tx) => tx.tsa.listTokens({ serialHex: token(7).serialHex, limit: 5 }))
      expect(found).toEqual(token(7, { nonce: '0f', clientSystemId: 'cs-1' }))
    })

    it('pages newest first by (genTime, serial) and filters by time and requester', async () => {
      const seen: string[] = []
      let after: { genTime: Date; serialHex: string } | undefined
      for (;;) {
        const page = await uow.read((tx) => tx.tsa.listTokens({ limit: 500, after }))
        seen.push(...page.map((p) => p.serialHex))
        const last = page.at(-1)
        if (page.length < 500 || !last) break
        after = { genTime: last.genTime, serialHex: last.serialHex }
      }
      expect(seen).toHaveLength(1203)
      expect(new Set(seen).size).toBe(1203)
      expect(seen[0]).toBe(token(1202).serialHex)
      const window = await uow.read((tx) => tx.tsa.listTokens({ from: at(10), to: at(12), limit: 100 }))
      expect(window.map((w) => w.genTime.getTime()).every((t) => t >= at(10).getTime() && t < at(12).getTime())).toBe(
        true,
      )
      expect(window).toHaveLength(20)
      const byIp = await uow.read((tx) => tx.tsa.listTokens({ requester: '10.0.0.1', limit: 2000 }))
      expect(byIp).toHaveLength(601)
      const bySystem = await uow.read((tx) => tx.tsa.listTokens({ requester: 'cs-1', limit: 10 }))
      expect(bySystem.map((b) => b.serialHex)).toEqual([token(7).serialHex])
    })

    it('keeps one settings row with an optimistic version; the state does not bump it', async () => {
      const settings = await uow.run((tx) => tx.tsa.getSettings())
      expect(settings).toMatchObject({ policies: ['0.4.0.2023.1.1'], state: 'running', version: 1 })
      const next = { ...settings, toleranceMs: 50, updatedAt: at(1) }
      expect(await uow.run((tx) => tx.tsa.saveSettings(next, 1))).toBe(true)
      expect(await uow.run((tx) => tx.tsa.saveSettings(next, 1))).toBe(false)
      await uow.run((tx) => tx.tsa.saveState('stopped', 'maintenance', at(2)))
      expect(await uow.run((tx) => tx.tsa.getSettings())).toMatchObject({
        toleranceMs: 50,
        version: 2,
        state: 'stopped',
        stateReason: 'maintenance',
        stateChangedAt: at(2),
      })
    })

    it('adds, lists and deletes time sources; an address is stored once', async () => {
      const source = {
        id: '00000000-0000-4000-8000-000000000001',
        name: 'NTSC',
        address: 'ntp.ntsc.ac.cn',
        createdAt: at(0),
      }
      await uow.run((tx) => tx.tsa.insertSource(source))
      await expect(
        uow.run((tx) => tx.tsa.insertSource({ ...source, id: '00000000-0000-4000-8000-000000000002' })),
      ).rejects.toThrow()
      expect(await uow.run((tx) => tx.tsa.listSources())).toEqual([source])
      expect(await uow.run((tx) => tx.tsa.deleteSource(source.id))).toBe(true)
      expect(await uow.run((tx) => tx.tsa.deleteSource(source.id))).toBe(false)
    })
  })
}
