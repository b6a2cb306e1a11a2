/**
 * The RA lifecycle against the real CA and database: issue from a CSR, issue on approval, bulk approval, phone
 * enrolment by two-party key generation, renewal (old certificate superseded), recovery (old certificate revoked at
 * once), and revoke racing renew. Every status change must show in the CRL and the OCSP answer at once.
 */
import type { ActorContext, IssuedCertificate } from '@yiqian/core'
import { clientKeygenCommit, clientKeygenReveal, createTwoPartyClientKeyShare, sm2PublicKeyFromSpki } from '@yiqian/gm'
import { buildOcspRequest, parseCertificate, parseCrl, parseOcspResponse } from '@yiqian/pki'
import { testDialects } from '@yiqian/storage/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type SignedIn, seedStaff, signInAs, sm2Csr, type TestApp } from '../testing.js'

const base = '/api/v1/ra/applications'
const system: ActorContext = { actor: 'system', actorRole: '', source: 'local', requestId: 'test' }

for (const dialect of testDialects()) {
  describe(`${dialect}: RA lifecycle with the CA`, () => {
    let t: TestApp
    let a: SignedIn
    let b: SignedIn
    let staff: string[]
    let issuingId: string

    beforeAll(async () => {
      t = await createTestApp({ dialect, ca: true })
      const { issuing } = await (t.services.ca as NonNullable<TestApp['services']['ca']>).createHierarchy(
        {
          algorithm: 'sm2',
          names: { root: { CN: 'RA Test Root', O: 'T' }, issuing: { CN: 'RA Test Issuing', O: 'T' } },
        },
        system,
      )
      issuingId = issuing.id
      staff = (await seedStaff(t, 12)).staffIds
      ;[a, b] = await Promise.all([signInAs(t, ['ra-officer']), signInAs(t, ['ra-officer'])])
    })
    afterAll(async () => {
      await t?.close()
    })

    const post = (who: SignedIn, url: string, payload?: object) =>
      t.app.inject({ method: 'POST', url, headers: who.headers, ...(payload && { payload }) })

    async function certificate(id: string): Promise<IssuedCertificate> {
      const found = await t.services.uow.run((tx) => tx.certificates.find(id))
      if (!found) throw new Error(`no certificate ${id}`)
      return found
    }

    async function crlSerials(): Promise<Map<string, string | undefined>> {
      const der = await t.app.inject({ method: 'GET', url: `/pki/crl/${issuingId}.crl` })
      expect(der.statusCode).toBe(200)
      return new Map(parseCrl(new Uint8Array(der.rawPayload)).revoked.map((r) => [r.serialHex, r.reason]))
    }

    async function ocspStatus(cert: IssuedCertificate): Promise<string> {
      const ca = await t.services.ca?.find(issuingId)
      const request = buildOcspRequest({ certificate: cert.der, issuer: ca?.certificate as Uint8Array })
      const res = await t.app.inject({
        method: 'POST',
        url: '/pki/ocsp',
        headers: { 'content-type': 'application/ocsp-request' },
        payload: Buffer.from(request),
      })
      return parseOcspResponse(new Uint8Array(res.rawPayload)).responses[0]?.certStatus.status ?? 'none'
    }

    /** Applies (officer A) with a CSR, approves (officer B): issued on approval. */
    async function issuedFor(staffId: string): Promise<{ applicationId: string; certificateId: string }> {
      const applied = await post(a, base, { staffId, profileId: 'staff-sign', csr: await sm2Csr() })
      expect(applied.statusCode, applied.body).toBe(201)
      expect(applied.json().keyOrigin).toBe('csr')
      const approved = await post(b, `${base}/${applied.json().id}/approve`, {})
      expect(approved.statusCode, approved.body).toBe(200)
      expect(approved.json().activationCode).toBeNull()
      expect(approved.json().application.status).toBe('issued')
      return { applicationId: applied.json().id, certificateId: approved.json().certificate.id }
    }

    it('issues on approval when the CSR came with the application; the subject comes from the staff record', async () => {
      const { certificateId } = await issuedFor(staff[0] as string)
      const cert = await certificate(certificateId)
      const parsed = parseCertificate(cert.der)
      expect(parsed.subjectString).toContain('CN=员工1')
      expect(parsed.subjectString).toContain('serialNumber=E1')
      expect(parsed.subjectString).not.toContain('test applicant')
      expect(cert).toMatchObject({ status: 'active', staffId: staff[0], profile: 'staff-sign', issuerId: issuingId })
      expect(await ocspStatus(cert)).toBe('good')
    })

    it('refuses a CSR whose signature does not verify, naming the field', async () => {
      const pem = await sm2Csr()
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
      der[der.length - 5] = (der[der.length - 5] as number) ^ 0xff
      const res = await post(a, base, { staffId: staff[1], profileId: 'staff-sign', csr: der.toString('base64') })
      expect(res.statusCode).toBe(400)
      expect(res.json().errors).toEqual([expect.objectContaining({ field: 'body.csr' })])
    })

    it('enrols a phone by two-party key generation with the activation code, once', async () => {
      const applied = await post(a, base, { staffId: staff[2], profileId: 'staff-sign' })
      const approved = await post(b, `${base}/${applied.json().id}/approve`, {})
      const code = approved.json().activationCode as string
      expect(code).toMatch(/^[0-9]{8}$/)
      const applicationId = applied.json().id as string
      const keygen = (payload: object) => t.app.inject({ method: 'POST', url: '/api/v1/enrolment/keygen', payload })
      // A wrong code counts as an attempt and starts nothing.
      const { state, message: commit } = clientKeygenCommit()
      const wrongCode = code === '00000000' ? '11111111' : '00000000'
      const wrong = await keygen({
        applicationId,
        activationCode: wrongCode,
        commit: Buffer.from(commit).toString('base64'),
      })
      expect(wrong.statusCode).toBe(400)
      expect(wrong.json().code).toBe('ACTIVATION_CODE_INVALID')
      const started = await keygen({
        applicationId,
        activationCode: code,
        commit: Buffer.from(commit).toString('base64'),
      })
      expect(started.statusCode, started.body).toBe(200)
      // The same commit again is a replay.
      const replay = await keygen({
        applicationId,
        activationCode: code,
        commit: Buffer.from(commit).toString('base64'),
      })
      expect(replay.statusCode).toBe(400)
      expect(replay.json().code).toBe('ENROLMENT_INVALID')
      const reveal = clientKeygenReveal(state, new Uint8Array(Buffer.from(started.json().message, 'base64')))
      const finish = () =>
        t.app.inject({
          method: 'POST',
          url: `/api/v1/enrolment/keygen/${started.json().sessionId}`,
          payload: { activationCode: code, reveal: Buffer.from(reveal).toString('base64') },
        })
      const done = await finish()
      expect(done.statusCode, done.body).toBe(200)
      const share = createTwoPartyClientKeyShare(state, new Uint8Array(Buffer.from(done.json().message, 'base64')))
      // The certificate is for the joint key both parties derived, and the server kept only its sealed share.
      const der = new Uint8Array(Buffer.from(done.json().certificate.der, 'base64'))
      const certKey = sm2PublicKeyFromSpki(parseCertificate(der).subjectPublicKeyInfo)
      expect(Buffer.from(certKey).toString('hex')).toBe(share.publicKey)
      const stored = await t.services.uow.run((tx) => tx.staffKeys.find(share.keyId))
      expect(stored).toMatchObject({ staffId: staff[2], status: 'active', certificateId: done.json().certificate.id })
      expect(stored?.serverShare).not.toContain(share.clientShare)
      expect(JSON.stringify(stored)).not.toMatch(/"serverShare":"[0-9a-f]{64}"/)
      // The code is redeemed and the session complete: neither works twice.
      const again = await finish()
      expect(again.statusCode).toBe(400)
      const application = await t.app.inject({ method: 'GET', url: `${base}/${applicationId}`, headers: a.headers })
      expect(application.json()).toMatchObject({ status: 'issued', keyOrigin: 'two-party' })
    })

    it('renews: the old certificate stays valid until the new one is issued, then is superseded in CRL and OCSP', async () => {
      const { certificateId } = await issuedFor(staff[3] as string)
      const renewal = await post(a, `/api/v1/ra/certificates/${certificateId}/renewal`)
      expect(renewal.statusCode, renewal.body).toBe(200)
      expect(renewal.json()).toMatchObject({ kind: 'renew', status: 'pending', replaces: certificateId })
      const old = await certificate(certificateId)
      expect(old.status).toBe('active')
      // A second renewal while one is open is refused.
      expect((await post(a, `/api/v1/ra/certificates/${certificateId}/renewal`)).statusCode).toBe(409)
      await post(b, `${base}/${renewal.json().id}/approve`, {})
      const issued = await post(b, `${base}/${renewal.json().id}/issue`, { csr: await sm2Csr() })
      expect(issued.statusCode, issued.body).toBe(200)
      const superseded = await certificate(certificateId)
      expect(superseded).toMatchObject({ status: 'revoked', supersededBy: issued.json().certificate.id })
      expect(superseded.revocation?.reason).toBe('superseded')
      expect((await crlSerials()).get(superseded.serialHex)).toBe('superseded')
      expect(await ocspStatus(superseded)).toBe('revoked')
      expect(await ocspStatus(await certificate(issued.json().certificate.id))).toBe('good')
    })

    it('recovers after a lost phone: revoked at once, approved application with a new activation code', async () => {
      const { certificateId } = await issuedFor(staff[4] as string)
      const recovery = await post(b, `/api/v1/ra/certificates/${certificateId}/recovery`, {
        identityVerification: 'in-person-id-card',
      })
      expect(recovery.statusCode, recovery.body).toBe(200)
      expect(recovery.json().activationCode).toMatch(/^[0-9]{8}$/)
      expect(recovery.json().application).toMatchObject({
        kind: 'recover',
        status: 'approved',
        replaces: certificateId,
      })
      const old = await certificate(certificateId)
      expect(old.status).toBe('revoked')
      expect((await crlSerials()).get(old.serialHex)).toBe('superseded')
      expect(await ocspStatus(old)).toBe('revoked')
      const missing = await post(b, `/api/v1/ra/certificates/${certificateId}/recovery`, {})
      expect(missing.statusCode).toBe(400)
    })

    it('approves in bulk: issues those with keys, codes for the rest, skips what cannot be approved', async () => {
      const withKey = await post(a, base, { staffId: staff[5], profileId: 'staff-sign', csr: await sm2Csr() })
      const withoutKey = await post(a, base, { staffId: staff[6], profileId: 'staff-sign' })
      const own = await post(b, base, { staffId: staff[7], profileId: 'staff-sign' })
      const res = await post(b, '/api/v1/ra/approvals', {
        ids: [withKey.json().id, withoutKey.json().id, own.json().id, 'no-such-application'],
      })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ approved: 1, issued: 1, skipped: 2 })
      const byId = new Map(res.json().results.map((r: { applicationId: string }) => [r.applicationId, r]))
      expect(byId.get(withKey.json().id)).toMatchObject({ outcome: 'issued', serial: expect.any(String) })
      expect(byId.get(withoutKey.json().id)).toMatchObject({ outcome: 'approved', activationCode: expect.any(String) })
      // Four-eyes: officer B requested this one.
      expect(byId.get(own.json().id)).toMatchObject({ outcome: 'skipped', code: 'FOUR_EYES_REQUIRED' })
      expect(byId.get('no-such-application')).toMatchObject({ outcome: 'skipped' })
      // Re-running changes nothing that is done.
      const again = await post(b, '/api/v1/ra/approvals', { ids: [withKey.json().id] })
      expect(again.json()).toMatchObject({ approved: 0, issued: 0, skipped: 1 })
    })

    it('revoke racing renew on one certificate ends in one consistent state', async () => {
      for (const staffId of [staff[8], staff[9], staff[10]] as string[]) {
        const { certificateId } = await issuedFor(staffId)
        const cert = await certificate(certificateId)
        const outcomes = await Promise.allSettled([
          t.services.ca?.revoke({ serial: cert.serialHex, caId: issuingId }, 'keyCompromise', system),
          post(a, `/api/v1/ra/certificates/${certificateId}/renewal`).then((r) => {
            if (r.statusCode !== 200) throw Object.assign(new Error(r.body), { status: r.statusCode })
            return r.json()
          }),
        ])
        const final = await certificate(certificateId)
        const applications = await t.app.inject({
          method: 'GET',
          url: `${base}?staffId=${staffId}&kind=renew`,
          headers: a.headers,
        })
        const renewals = applications.json().items as { replaces: string; status: string }[]
        const [revoke, renew] = outcomes
        // Whatever the order, the certificate ends revoked, listed in the CRL and answered revoked by OCSP.
        if (revoke?.status === 'fulfilled') {
          expect(final.status).toBe('revoked')
          expect(final.revocation?.reason).toBe('keyCompromise')
          expect((await crlSerials()).get(final.serialHex)).toBe('keyCompromise')
          expect(await ocspStatus(final)).toBe('revoked')
        }
        // A renewal exists exactly when the renew call succeeded, and it replaces this certificate.
        expect(renewals.length).toBe(renew?.status === 'fulfilled' ? 1 : 0)
        for (const r of renewals) expect(r.replaces).toBe(certificateId)
        if (renew?.status === 'rejected') expect([409, 400]).toContain((renew.reason as { status: number }).status)
        // Versions: every committed change moved the version by one from the issued state.
        expect(final.version).toBe(
          1 + (revoke?.status === 'fulfilled' ? 1 : 0) + (renew?.status === 'fulfilled' ? 1 : 0),
        )
        expect(revoke?.status === 'fulfilled' || renew?.status === 'fulfilled').toBe(true)
      }
    })
  })
}
