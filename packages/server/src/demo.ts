/**
 * `yiqian init --demo`: a demonstration hospital with test staff who hold real two-party certificates, so the
 * embedded default start has something to sign with. Everything is marked as test (测试) in names, titles and the
 * institution code, and the phones' key shares, which a real phone would keep to itself, are written to a 0600 file
 * in the data folder for test phones and scripts. Never use demo data in production.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ActorContext,
  type CaService,
  type CertificateIssuer,
  type Clock,
  createEnrolment,
  createOrganisationUseCases,
  createRaUseCases,
  type Principal,
  type SecretBox,
  type UnitOfWork,
} from '@yiqian/core'
import { clientKeygenCommit, clientKeygenReveal, createTwoPartyClientKeyShare } from '@yiqian/gm'

export const DEMO_INSTITUTION_CODE = 'DEMO-TEST'
export const DEMO_SHARES_FILE = 'demo-phone-shares.json'
export const DEMO_STAFF_COUNT = 24

const DEPARTMENTS = [
  { code: 'CARD', name: '心内科（测试）' },
  { code: 'RESP', name: '呼吸科（测试）' },
  { code: 'EMER', name: '急诊科（测试）' },
  { code: 'LAB', name: '检验科（测试）' },
  { code: 'RAD', name: '影像科（测试）' },
  { code: 'NURS', name: '护理部（测试）' },
] as const

export interface DemoDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  readonly ca: CaService
  readonly certificateIssuer: CertificateIssuer
}

export interface DemoStaffShare {
  readonly staffId: string
  readonly employeeNumber: string
  readonly name: string
  readonly certificateSerial: string
  /** The phone's share (gm TwoPartyClientKeyShare). TEST ONLY: a real phone never lets it out. */
  readonly clientShare: unknown
}

export interface DemoOutcome {
  readonly created: boolean
  readonly staff: number
  readonly certificates: number
  readonly sharesFile: string | undefined
}

const demoActor = (who: string): ActorContext => ({
  actor: `system:demo-${who}`,
  actorRole: 'ra-officer',
  source: 'local',
  requestId: 'init-demo',
})
const demoOfficer = (who: string): Principal => ({
  kind: 'user',
  id: `demo-${who}`,
  name: `demo-${who}`,
  roles: ['ra-officer'],
  departmentIds: [],
})

/** Creates the demonstration data once; a second run finds the demo institution and does nothing. */
export async function createDemoData(deps: DemoDeps, dataDir: string): Promise<DemoOutcome> {
  const { uow, clock, secretBox } = deps
  if (await uow.run((tx) => tx.institutions.findByCode(DEMO_INSTITUTION_CODE))) {
    return { created: false, staff: 0, certificates: 0, sharesFile: undefined }
  }
  const organisation = createOrganisationUseCases({ uow, clock, secretBox })
  const ra = createRaUseCases({ uow, clock, secretBox, issuer: deps.certificateIssuer })
  const enrolment = createEnrolment({ uow, clock, secretBox, ra })
  const setup = demoActor('setup')
  const institution = await organisation.createInstitution(setup, {
    code: DEMO_INSTITUTION_CODE,
    name: '演示医院（测试数据）',
  })
  const departments = []
  for (const d of DEPARTMENTS) {
    departments.push(await organisation.createDepartment(setup, { institutionId: institution.id, ...d }))
  }
  const staffIds: string[] = []
  const people = new Map<string, { employeeNumber: string; name: string }>()
  for (let i = 1; i <= DEMO_STAFF_COUNT; i++) {
    const employeeNumber = `TEST${String(i).padStart(3, '0')}`
    const name = `测试${i % 3 === 0 ? '护士' : '医生'}${String(i).padStart(2, '0')}`
    const member = await organisation.createStaff(setup, {
      institutionId: institution.id,
      employeeNumber,
      name,
      title: '测试账号 / TEST',
      departmentIds: [departments[(i - 1) % departments.length]!.id],
    })
    staffIds.push(member.id)
    people.set(member.id, { employeeNumber, name })
  }
  // Two officers, four-eyes: one applies, the other approves.
  const applied = await ra.applyBulk(demoOfficer('officer-a'), demoActor('officer-a'), {
    profileId: 'staff-sign',
    staffIds,
  })
  const ids = applied.results.flatMap((r) => (r.applicationId ? [r.applicationId] : []))
  const approved = await ra.approveBulk(demoOfficer('officer-b'), demoActor('officer-b'), ids)
  const shares: DemoStaffShare[] = []
  for (const item of approved.results) {
    if (item.outcome !== 'approved' || !item.activationCode) continue
    // What the phone app does at enrolment, here in-process.
    const phone = demoActor('phone')
    const { state, message: commit } = clientKeygenCommit({ now: clock.now().getTime() })
    const started = await enrolment.begin(phone, {
      applicationId: item.applicationId,
      code: item.activationCode,
      commit,
    })
    const reveal = clientKeygenReveal(state, started.message)
    const done = await enrolment.complete(phone, { sessionId: started.sessionId, code: item.activationCode, reveal })
    const clientShare = createTwoPartyClientKeyShare(state, done.message)
    const application = await ra.get(demoOfficer('officer-b'), item.applicationId)
    const person = people.get(application.holderId)
    shares.push({
      staffId: application.holderId,
      employeeNumber: person?.employeeNumber ?? '',
      name: person?.name ?? '',
      certificateSerial: done.issued.serial,
      clientShare,
    })
  }
  const sharesFile = join(dataDir, DEMO_SHARES_FILE)
  const text = JSON.stringify(
    {
      warning:
        '测试数据：手机端密钥分量，仅供测试手机和脚本使用，切勿用于生产 / TEST DATA: the phones’ key shares, for test phones and scripts only; never in production',
      institution: { id: institution.id, code: DEMO_INSTITUTION_CODE },
      staff: shares,
    },
    null,
    2,
  )
  await writeFile(sharesFile, `${text}\n`, { mode: 0o600 })
  return { created: true, staff: staffIds.length, certificates: shares.length, sharesFile }
}
