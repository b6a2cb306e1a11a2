import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { totpCode } from '@yiqian/core'
import { createSigner, generateSm2KeyPair, sm2PrivateKeyToPem } from '@yiqian/gm'
import { buildCsr, buildOcspRequest, certificateFromPem, csrToPem, parseOcspResponse } from '@yiqian/pki'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../harness.js'
import { initialCredential, launchChromium, logCspViolations, SHOTS } from './browser.js'

// The certificate journey in the console against the real server: the initial administrator sets up two RA
// officers and a staff member; officer A applies for the staff member's signing certificate, cannot approve it
// (four-eyes), officer B approves it (one-time activation code) and issues it from a CSR made here with an SM2 key;
// B finds the certificate, revokes it for key compromise, and the console, the status API and OCSP say "revoked".
const ADMIN_PASSWORD = 'Yiqian-console-2026!'
const OFFICER_PASSWORD = 'Ra-officer-Pass-2026!'
const HOSPITAL = '示例市第一人民医院'
const HOLDER = '张三'

let server: RunningServer
let browser: Browser
let dataDir: string
const contexts: BrowserContext[] = []
const problems: string[] = []

/** One signed-in console user in their own browser context (their own session cookie). */
interface Desk {
  readonly label: string
  readonly page: Page
}
let admin: Desk
let officerA: Desk
let officerB: Desk
const initialPasswords = new Map<string, string>()
/** Filled in as the journey goes. */
let serial = ''
let certificateId = ''
let issuerId = ''

/** expect.poll with room for a loaded machine (its default is one second). */
function poll<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: 10_000, interval: 100, ...options })
}

/**
 * Waits until dialogs and messages have finished animating (antd marks them with *-appear/-enter/-leave classes) and
 * tables have finished loading.
 */
async function settled(page: Page): Promise<void> {
  await page
    .waitForFunction(
      () => {
        // The test code is type-checked without the DOM library; this function runs in the page.
        const { document } = globalThis as unknown as {
          document: { querySelector(selector: string): unknown; getAnimations(): { playState: string }[] }
        }
        return (
          !document.querySelector(
            '[class*="-appear"], [class*="-enter"], [class*="-leave"], .ant-spin-spinning, .ant-spin-blur',
          ) && document.getAnimations().every((a) => a.playState !== 'running')
        )
      },
      null,
      { timeout: 5_000 },
    )
    .catch(() => undefined)
}

/** The text of an element, or '' while it is not there (textContent itself would wait for it). */
async function textOf(locator: Locator): Promise<string> {
  return (await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : ''
}

/** Opens a dialog and waits for it to finish opening: a click on a dialog still zooming in can be lost. */
async function open(page: Page, opener: Locator): Promise<void> {
  await opener.click()
  await settled(page)
}

async function shot(desk: Desk, name: string) {
  await settled(desk.page)
  await desk.page.screenshot({ path: join(SHOTS, `console-ra-${name}.png`), fullPage: true })
}

async function openDesk(label: string): Promise<Desk> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
  contexts.push(context)
  await logCspViolations(context)
  const page = await context.newPage()
  page.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`))
  page.on('console', (m) => {
    // 4xx answers are part of the journey (signed-out probe, the four-eyes refusal); 5xx and script errors are not.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`${label} console: ${m.text()}`)
  })
  return { label, page }
}

/** Sign-in with the initial password, the new password, TOTP enrolment: the console's first-login steps. */
async function firstLogin(desk: Desk, username: string, initialPassword: string, newPassword: string) {
  const { page } = desk
  await page.goto(`${server.url}/console/`)
  await poll(() => page.getByTestId('login-form').isVisible()).toBe(true)
  await page.getByTestId('login-username').fill(username)
  await page.getByTestId('login-password').fill(initialPassword)
  await page.getByTestId('login-submit').click()
  await poll(() => page.getByTestId('first-login').isVisible()).toBe(true)
  await page.getByTestId('password-current').fill(initialPassword)
  await page.getByTestId('password-new').fill(newPassword)
  await page.getByTestId('password-confirm').fill(newPassword)
  await page.getByTestId('password-submit').click()
  await poll(async () => (await page.getByTestId('totp-secret').textContent())?.trim() ?? '').toMatch(/^[A-Z2-7]{16,}/)
  const secret = /[A-Z2-7]{16,}/.exec((await page.getByTestId('totp-secret').textContent()) ?? '')?.[0] ?? ''
  await page.getByTestId('totp-code').fill(totpCode(secret, new Date()))
  await page.getByTestId('totp-submit').click()
  await poll(() => page.getByTestId('home').isVisible(), { timeout: 15_000 }).toBe(true)
}

/** Sets a checkbox in a dialog that may still be opening: clicks until the state holds. */
async function setChecked(box: Locator, checked: boolean): Promise<void> {
  await poll(
    async () => {
      if ((await box.isChecked()) !== checked) await box.click()
      return box.isChecked()
    },
    { timeout: 10_000 },
  ).toBe(checked)
}

/**
 * Picks an option of an antd Select; retried, because a click that lands while the dropdown is still opening (or on
 * a dialog still animating in) is lost. `search` is typed into the select's search box first when given.
 */
async function choose(page: Page, select: Locator, option: string, search?: string): Promise<void> {
  await poll(
    async () => {
      if (!(await select.textContent())?.includes(option)) {
        await select.click()
        if (search) await select.locator('input').fill(search)
        await page
          .locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: option })
          .first()
          .click({ timeout: 2_000 })
          .catch(() => undefined)
      }
      return select.textContent()
    },
    { timeout: 15_000 },
  ).toContain(option)
}

async function menu(desk: Desk, name: string) {
  await desk.page.getByRole('menuitem', { name }).click()
}

function applicationRow(desk: Desk): Locator {
  return desk.page.getByTestId('ra-table').locator('tbody tr', { hasText: HOLDER })
}

/** The signed-in user's own API call from the page (same-origin cookie), for what the console does not show. */
async function apiJson<T>(desk: Desk, path: string): Promise<{ status: number; body: T }> {
  return desk.page.evaluate(async (p) => {
    const response = await fetch(p, { headers: { accept: 'application/json' } })
    return { status: response.status, body: (await response.json()) as T }
  }, path)
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  dataDir = mkdtempSync(join(tmpdir(), 'yiqian-console-ra-'))
  server = await startServer({ YIQIAN_DATA: dataDir }, 60_000)
  browser = await launchChromium()
  admin = await openDesk('admin')
})

afterEach(async ({ task }) => {
  // A failed step leaves a picture of every desk, to see what the console showed.
  if (task.result?.state !== 'fail') return
  const slug = task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)
  for (const desk of [admin, officerA, officerB]) {
    if (desk)
      await desk.page.screenshot({ path: join(SHOTS, `console-ra-failed-${slug}-${desk.label.replace(' ', '-')}.png`) })
  }
})

afterAll(async () => {
  for (const context of contexts) await context.close()
  await browser?.close()
  await server?.stop()
})

describe('console certificate journey (RA) in Chromium', () => {
  it('the initial administrator completes the first sign-in and sees the certificate menus it may use', async () => {
    const { username, password } = initialCredential(dataDir)
    await firstLogin(admin, username, password, ADMIN_PASSWORD)
    // sysadmin and secadmin read the CAs; secadmin reads the reminder policy; applications are for RA officers.
    expect(await admin.page.getByRole('menuitem', { name: '证书机构' }).count()).toBe(1)
    expect(await admin.page.getByRole('menuitem', { name: '到期提醒' }).count()).toBe(1)
    expect(await admin.page.getByRole('menuitem', { name: '证书申请' }).count()).toBe(0)
    await shot(admin, '01-admin-home')
  })

  it('creates two RA officer accounts and gives them the RA officer role', async () => {
    const { page } = admin
    await menu(admin, '账户管理')
    for (const [username, displayName] of [
      ['ra-alice', 'RA 操作员甲'],
      ['ra-bob', 'RA 操作员乙'],
    ] as const) {
      await open(page, page.getByTestId('account-create'))
      await page.getByTestId('account-username').fill(username)
      await page.getByTestId('account-display-name').fill(displayName)
      await page.getByTestId('account-create-submit').click()
      await poll(
        async () => (await page.getByTestId('secret-value').textContent())?.trim().length ?? 0,
      ).toBeGreaterThan(11)
      initialPasswords.set(username, (await page.getByTestId('secret-value').textContent())?.trim() ?? '')
      if (username === 'ra-alice') await shot(admin, '02-officer-created')
      await page.getByTestId('secret-close').click()
      await poll(() => page.getByTestId('secret-value').count()).toBe(0)

      const row = page.getByTestId('accounts-table').locator('tr', { hasText: username })
      await open(page, row.getByRole('button', { name: '分配角色' }))
      await setChecked(page.getByRole('checkbox', { name: 'RA 操作员' }), true)
      await page.getByRole('button', { name: /确\s*定|OK/ }).click()
      await poll(() => row.textContent()).toContain('RA 操作员')
    }
    await shot(admin, '03-officers')
  })

  it('creates the institution, a department and the staff member', async () => {
    const { page } = admin
    await menu(admin, '科室管理')
    await page.getByTestId('institution-create').click()
    await page.getByTestId('institution-code').fill('H001')
    await page.getByTestId('institution-name').fill(HOSPITAL)
    await page.getByTestId('institution-submit').click()
    await poll(() => page.getByTestId('institution-select').textContent()).toContain(HOSPITAL)
    await page.getByTestId('department-create').click()
    await page.getByTestId('department-code').fill('CARD')
    await page.getByTestId('department-name').fill('心内科')
    await page.getByTestId('department-submit').click()
    await poll(() => page.getByTestId('department-node-CARD').isVisible()).toBe(true)

    await menu(admin, '人员管理')
    await page.getByTestId('staff-create').click()
    await page.getByTestId('staff-employee-number').fill('E1001')
    await page.getByTestId('staff-name').fill(HOLDER)
    await page.getByTestId('staff-departments').click()
    await page.locator('.ant-select-tree-node-content-wrapper', { hasText: '心内科' }).click()
    await page.keyboard.press('Escape')
    await page.getByTestId('staff-submit').click()
    await poll(() => page.getByTestId('staff-table').textContent()).toContain(HOLDER)
    await shot(admin, '04-staff')
  })

  it('each RA officer completes the first sign-in (password change and TOTP)', async () => {
    officerA = await openDesk('officer A')
    officerB = await openDesk('officer B')
    await firstLogin(officerA, 'ra-alice', initialPasswords.get('ra-alice') ?? '', OFFICER_PASSWORD)
    await firstLogin(officerB, 'ra-bob', initialPasswords.get('ra-bob') ?? '', OFFICER_PASSWORD)
    for (const item of ['证书申请', '证书查询', '证书报表', '证书机构', '到期提醒']) {
      expect(await officerA.page.getByRole('menuitem', { name: item }).count()).toBe(1)
    }
    // RA officers do not administer accounts.
    expect(await officerA.page.getByRole('menuitem', { name: '账户管理' }).count()).toBe(0)
    await shot(officerA, '05-officer-home')
  })

  it('officer A applies for a staff signing certificate', async () => {
    const { page } = officerA
    await menu(officerA, '证书申请')
    await poll(() => page.getByTestId('ra-table').isVisible()).toBe(true)
    await open(page, page.getByTestId('ra-apply'))
    await choose(page, page.getByTestId('ra-apply-staff'), HOLDER, HOLDER)
    expect(await page.getByTestId('ra-apply-profile').textContent()).toContain('医护人员签名证书')
    await shot(officerA, '06-apply')
    await page.getByTestId('ra-apply-submit').click()
    const row = applicationRow(officerA)
    await poll(() => textOf(row.getByTestId('ra-status'))).toBe('待审批')
    // The officer sees the application as their own: the one they may not approve.
    expect(await row.textContent()).toContain('本人')
    await shot(officerA, '07-pending')
  })

  it('officer A cannot approve their own application (four-eyes)', async () => {
    const { page } = officerA
    await open(page, applicationRow(officerA).getByTestId('ra-approve'))
    await page.getByTestId('ra-decision-submit').click()
    await poll(() => textOf(page.getByTestId('ra-decision-problem'))).toContain('双人复核')
    await shot(officerA, '08-four-eyes-refused')
    await page.keyboard.press('Escape')
    await poll(() => page.getByTestId('ra-decision-problem').count()).toBe(0)
    expect(await applicationRow(officerA).getByTestId('ra-status').textContent()).toBe('待审批')
  })

  it('officer B approves it and is shown the one-time activation code', async () => {
    const { page } = officerB
    await menu(officerB, '证书申请')
    const row = applicationRow(officerB)
    await poll(() => textOf(row.getByTestId('ra-status'))).toBe('待审批')
    await open(page, row.getByTestId('ra-approve'))
    await page.getByTestId('ra-decision-submit').click()
    await poll(async () => (await textOf(page.getByTestId('secret-value'))).trim()).toMatch(/^\d{8}$/)
    await shot(officerB, '09-activation-code')
    await page.getByTestId('secret-close').click()
    await poll(() => textOf(row.getByTestId('ra-status'))).toBe('待签发')
  })

  it('officer B issues the certificate from a PKCS #10 request made with an SM2 key', async () => {
    const { page } = officerB
    const key = generateSm2KeyPair()
    const signer = createSigner(sm2PrivateKeyToPem(key.privateKey))
    const csr = csrToPem(await buildCsr({ subject: [{ C: 'CN' }, { O: HOSPITAL }, { CN: HOLDER }], signer }))

    const row = applicationRow(officerB)
    await open(page, row.getByTestId('ra-issue'))
    // A request that is not DER is refused, and the refusal is shown in the dialog (under the field it names).
    await page
      .getByTestId('ra-issue-csr')
      .fill('-----BEGIN CERTIFICATE REQUEST-----\nMIIBAA==\n-----END CERTIFICATE REQUEST-----')
    await page.getByTestId('ra-decision-submit').click()
    await poll(() => page.getByTestId('ra-decision-problem').count()).toBe(1)
    await poll(() => page.locator('.ant-modal .ant-form-item-has-error').count()).toBe(1)
    await shot(officerB, '10-issue-csr-refused')
    expect(await textOf(row.getByTestId('ra-status'))).toBe('待签发')
    await page.getByTestId('ra-issue-csr').fill(csr)
    await shot(officerB, '10-issue-csr')
    await page.getByTestId('ra-decision-submit').click()
    // A refusal stays in the dialog; show it in the failure rather than a bare timeout.
    await poll(
      async () =>
        (await page.getByTestId('ra-decision-problem').count()) > 0
          ? `problem: ${await page.getByTestId('ra-decision-problem').textContent()}`
          : await textOf(row.getByTestId('ra-status')),
      { timeout: 20_000 },
    ).toBe('已签发')
    await poll(() => page.getByTestId('ra-issued').isVisible()).toBe(true)
    serial = (await row.locator('code').first().textContent())?.trim() ?? ''
    expect(serial).toMatch(/^[0-9a-f]+$/i)
    await shot(officerB, '11-issued')
  })

  it('officer B finds the certificate by its serial and opens its detail', async () => {
    const { page } = officerB
    await menu(officerB, '证书查询')
    await page.getByTestId('certificates-search-serial').fill(serial)
    await page.getByTestId('certificates-search-submit').click()
    const table = page.getByTestId('certificates-table')
    await poll(() => table.locator('tbody tr', { hasText: HOLDER }).count()).toBe(1)
    expect(await table.textContent()).toContain('有效')
    await shot(officerB, '12-certificate-search')

    await table.locator('tbody tr', { hasText: HOLDER }).click()
    await poll(() => textOf(page.getByTestId('certificate-status'))).toBe('有效')
    expect((await page.getByTestId('certificate-serial').textContent())?.toLowerCase()).toContain(serial.toLowerCase())
    expect(await page.getByTestId('certificate-pem').textContent()).toContain('-----BEGIN CERTIFICATE-----')
    certificateId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '')
    await shot(officerB, '13-certificate-detail')
  })

  it('revokes it for key compromise, after confirming the reason', async () => {
    const { page } = officerB
    await open(page, page.getByTestId('certificate-revoke'))
    // The reason is required: the dialog refuses to send without one.
    await page.getByTestId('certificate-action-submit').click()
    await poll(() => page.getByText('请选择吊销原因').count()).toBeGreaterThan(0)
    await choose(page, page.getByTestId('certificate-revoke-reason'), '密钥泄露')
    await page.getByTestId('certificate-action-comment').fill('手机丢失，私钥可能泄露')
    await shot(officerB, '14-revoke-dialog')
    await page.getByTestId('certificate-action-submit').click()
    await poll(
      async () =>
        (await page.getByTestId('certificate-action-problem').count()) > 0
          ? `problem: ${await page.getByTestId('certificate-action-problem').textContent()}`
          : await textOf(page.getByTestId('certificate-status')),
      { timeout: 15_000 },
    ).toBe('已吊销')
    expect(await page.getByTestId('certificate-revocation-reason').textContent()).toContain('密钥泄露')
    expect(await page.getByTestId('certificate-revoke').count()).toBe(0)
    await shot(officerB, '15-revoked')

    await page.getByTestId('lang-switch').locator('[data-lang="en"]').click()
    await poll(() => page.getByTestId('certificate-status').textContent()).toBe('Revoked')
    expect(await page.getByTestId('certificate-revocation-reason').textContent()).toContain('Key compromise')
    await shot(officerB, '16-revoked-en')
    await page.getByTestId('lang-switch').locator('[data-lang="zh-CN"]').click()
    await poll(() => page.getByTestId('certificate-status').textContent()).toBe('已吊销')
  })

  it('the status API and OCSP answer "revoked" (keyCompromise)', async () => {
    const status = await apiJson<{ status: string; revocation?: { reason: string } }>(
      officerB,
      `/api/v1/certificates/status?serial=${serial}`,
    )
    expect(status.status).toBe(200)
    expect(status.body.status).toBe('revoked')
    expect(status.body.revocation?.reason).toBe('keyCompromise')

    const detail = await apiJson<{ pem: string; issuerId: string }>(
      officerB,
      `/api/v1/certificates/${encodeURIComponent(certificateId)}`,
    )
    issuerId = detail.body.issuerId
    const issuer = new Uint8Array(await (await fetch(`${server.url}/pki/ca/${issuerId}.crt`)).arrayBuffer())
    const request = buildOcspRequest({ certificate: certificateFromPem(detail.body.pem), issuer })
    const answer = await fetch(`${server.url}/pki/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: request,
    })
    expect(answer.status).toBe(200)
    const ocsp = parseOcspResponse(new Uint8Array(await answer.arrayBuffer()))
    expect(ocsp.responseStatus).toBe('successful')
    expect(ocsp.responses[0]?.certStatus).toMatchObject({ status: 'revoked', reason: 'keyCompromise' })
  })

  it('shows the report, the certificate authorities and the reminder policy', async () => {
    const { page } = officerB
    await menu(officerB, '证书报表')
    await poll(() => page.getByTestId('reports-total-revoked').textContent(), { timeout: 15_000 }).toBe('1')
    await shot(officerB, '17-reports')

    await menu(officerB, '证书机构')
    const cas = page.getByTestId('ca-table')
    await poll(() => cas.textContent()).toContain(issuerId)
    expect(await cas.textContent()).toContain(`/pki/crl/${issuerId}.crl`)
    // Only the system administrator creates hierarchies.
    expect(await page.getByTestId('ca-create').count()).toBe(0)
    await shot(officerB, '18-ca')

    await menu(officerB, '到期提醒')
    await poll(() => page.getByTestId('reminders-form').isVisible()).toBe(true)
    // RA officers read the policy; the security administrator changes it.
    expect(await page.getByTestId('reminders-submit').count()).toBe(0)
    await shot(officerB, '19-reminders')

    // The security administrator adds a 60-day reminder and saves the policy.
    await menu(admin, '到期提醒')
    await poll(() => admin.page.getByTestId('reminders-submit').isVisible()).toBe(true)
    await admin.page.getByTestId('reminders-days').locator('input').fill('60')
    await admin.page.keyboard.press('Enter')
    await admin.page.getByTestId('reminders-submit').click()
    await poll(() => admin.page.getByText('已保存').count()).toBeGreaterThan(0)
    const policy = await apiJson<{ daysBefore: number[]; version: number }>(admin, '/api/v1/reminders/policy')
    expect(policy.body.daysBefore).toEqual([60, 30, 7, 1])
    await shot(admin, '20-reminders-saved')
    await menu(admin, '证书机构')
    await poll(() => admin.page.getByTestId('ca-create').isVisible()).toBe(true)
    await shot(admin, '21-ca-admin')
  })

  it('had no script errors or CSP violations', () => {
    expect(problems).toEqual([])
  })
})
