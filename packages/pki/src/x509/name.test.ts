import { Name } from '@peculiar/asn1-x509'
import { describe, expect, it } from 'vitest'
import { decodeDer, encodeDer } from '../der.js'
import { buildName, type NameList, nameToList, nameToString } from './name.js'
import { generateSerial, serialToBytes, serialToHex } from './serial.js'

describe('names', () => {
  it('round-trips an ordered Chinese name with the right string types', () => {
    const list: NameList = [
      { C: 'CN' },
      { ST: '北京市' },
      { L: '海淀区' },
      { O: '某某医院' },
      { OU: '心内科' },
      { CN: '王医生' },
      { emailAddress: 'wang@hospital.example' },
      { '1.2.156.112559.9.2': '工号 1001' },
    ]
    const der = encodeDer(buildName(list))
    const name = decodeDer(der, Name, 'name')
    expect(nameToList(name)).toEqual(list)
    const values = name.map((rdn) => rdn[0]!.value)
    expect(values[0]!.printableString).toBe('CN')
    expect(values[5]!.utf8String).toBe('王医生')
    expect(values[6]!.ia5String).toBe('wang@hospital.example')
    expect(nameToString([{ O: 'A, B' }, { CN: '王医生' }])).toBe('O=A\\, B, CN=王医生')
  })

  it('refuses what it cannot encode', () => {
    for (const bad of <NameList[]>[
      [{ C: 'cn' }],
      [{ XX: 'x' }],
      [{ CN: '' }],
      [{ CN: 'a', O: 'b' }],
      [{ emailAddress: '王@x' }],
    ]) {
      expect(() => buildName(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
  })
})

describe('serial numbers', () => {
  it('are 16 positive octets with 126 random bits', () => {
    const a = generateSerial()
    expect(a.length).toBe(16)
    expect(a[0]! & 0xc0).toBe(0x40)
    expect(serialToHex(a)).not.toBe(serialToHex(generateSerial()))
  })

  it('normalise and reject non-positive or oversize values', () => {
    expect(serialToBytes(0x80n)).toEqual(Uint8Array.of(0, 0x80))
    expect(serialToBytes('00ff')).toEqual(Uint8Array.of(0, 0xff))
    expect(serialToHex(Uint8Array.of(0, 0x80))).toBe('80')
    for (const bad of [
      0n,
      -1n,
      2n ** 159n,
      '',
      'xyz',
      Uint8Array.of(0xff),
      Uint8Array.of(0, 1),
      new Uint8Array(21).fill(1),
    ]) {
      expect(() => serialToBytes(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
  })
})
