import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { totpCode } from '@yiqian/core'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../harness.js'
import { initialCredential, launchChromium, logCspViolations, SHOTS } from './browser.js'

// The console's identity journey against the real server: the initial administrator signs in with the generated
// credential, changes the password, enrols TOTP, works with the organisation data, signs out and back in with a code.
const NEW_PASSWORD = 'Yiqian-console-2026!'

let server: RunningServer
let browser: Browser
let context: BrowserContext
let page: Page
let dataDir: string
/** The TOTP seed the console showed at enrolment (base32). */
let totpSecret = ''
/** The 30-second TOTP step whose code confirmed the enrolment. */
let enrolmentStep = 0
const problems: string[] = []

async function shot(name: string) {
  await page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true })
}

async function signIn(username: string, password: string) {
  await page.getByTestId('login-username').fill(username)
  await page.getByTestId('login-password').fill(password)
  await page.getByTestId('login-submit').click()
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  dataDir = mkdtempSync(join(tmpdir(), 'yiqian-console-'))
  server = await startServer({ YIQIAN_DATA: dataDir })
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' })
  // CSP violations are reported to the page as events; collect them alongside script errors.
  await logCspViolations(context)
  page = await context.newPage()
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('console', (m) => {
    // The journey meets 4xx problem answers on purpose (signed-out session probe, wrong password, weak password);
    // the browser logs each as a failed load. A 5xx, a script error or a CSP violation still fails the test.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`)
  })
})

afterAll(async () => {
  await context?.close()
  await browser?.close()
  await server?.stop()
})

/**
 * Sets a checkbox in a dialog that may still be opening (its form fills in its values as it opens, which can undo
 * an early click): clicks until the state holds.
 */
async function setChecked(box: Locator, checked: boolean): Promise<void> {
  await expect
    .poll(
      async () => {
        if ((await box.isChecked()) !== checked) await box.click()
        return box.isChecked()
      },
      { timeout: 10_000, interval: 250 },
    )
    .toBe(checked)
}

describe('console identity journey in Chromium', () => {
  it('signs in with the initial credential and is sent to the first-login steps', async () => {
    const response = await page.goto(`${server.url}/console/`)
    expect(response?.status()).toBe(200)
    await expect.poll(() => page.getByTestId('login-form').isVisible()).toBe(true)
    expect(page.url()).toMatch(/\/console\/login$/)
    await shot('01-login')

    const { username, password } = initialCredential(dataDir)
    expect(username).toBe('admin')
    await signIn(username, 'wrong-password-123')
    await expect.poll(() => page.getByTestId('login-error').textContent()).toContain('用户名或密码错误')

    await signIn(username, password)
    await expect.poll(() => page.getByTestId('first-login').isVisible()).toBe(true)
    expect(page.url()).toMatch(/\/console\/first-login$/)
    await shot('02-password-change')
  })

  it('changes the password, with the server’s policy message for a weak one', async () => {
    const { password } = initialCredential(dataDir)
    await page.getByTestId('password-current').fill(password)
    await page.getByTestId('password-new').fill('weakpassword')
    await page.getByTestId('password-confirm').fill('weakpassword')
    await page.getByTestId('password-submit').click()
    // The refusal names the field: the message lands under the new-password input.
    await expect.poll(() => page.getByTestId('password-error').isVisible()).toBe(true)
    await expect.poll(() => page.locator('.ant-form-item-has-error').count()).toBeGreaterThan(0)
    await shot('03-password-refused')

    await page.getByTestId('password-new').fill(NEW_PASSWORD)
    await page.getByTestId('password-confirm').fill(NEW_PASSWORD)
    await page.getByTestId('password-submit').click()
    await expect.poll(() => page.getByTestId('totp-secret').isVisible()).toBe(true)
  })

  it('enrols TOTP from the secret shown beside the QR code and reaches the console', async () => {
    await expect
      .poll(async () => (await page.getByTestId('totp-secret').textContent())?.trim())
      .toMatch(/^[A-Z2-7]{16,}/)
    const secret = /[A-Z2-7]{16,}/.exec((await page.getByTestId('totp-secret').textContent()) ?? '')?.[0] ?? ''
    await expect
      .poll(() => page.locator('[data-testid="totp-qr"] canvas, [data-testid="totp-qr"] svg').count())
      .toBeGreaterThan(0)
    await shot('04-totp-enrolment')

    enrolmentStep = Math.floor(Date.now() / 30_000)
    await page.getByTestId('totp-code').fill(totpCode(secret, new Date(enrolmentStep * 30_000)))
    await page.getByTestId('totp-submit').click()
    await expect.poll(() => page.getByTestId('home').isVisible(), { timeout: 15_000 }).toBe(true)
    expect(await page.getByTestId('current-user').textContent()).toBeTruthy()
    // The bootstrap account holds all three administrator roles, so every menu group shows.
    for (const item of ['账户管理', '安全策略', '系统配置', '科室管理', '人员管理', '业务系统', '审计日志']) {
      expect(await page.getByRole('menuitem', { name: item }).count()).toBe(1)
    }
    await shot('05-home')
    totpSecret = secret
  })

  it('creates an institution and a department', async () => {
    await page.getByRole('menuitem', { name: '科室管理' }).click()
    await expect.poll(() => page.getByTestId('institution-create').isVisible()).toBe(true)
    await page.getByTestId('institution-create').click()
    await page.getByTestId('institution-code').fill('H001')
    await page.getByTestId('institution-name').fill('示例市第一人民医院')
    await page.getByTestId('institution-submit').click()
    await expect.poll(() => page.getByTestId('institution-select').textContent()).toContain('示例市第一人民医院')

    await page.getByTestId('department-create').click()
    await page.getByTestId('department-code').fill('ICU')
    await page.getByTestId('department-name').fill('重症医学科')
    await page.getByTestId('department-submit').click()
    await expect.poll(() => page.getByTestId('department-node-ICU').isVisible()).toBe(true)
    await shot('06-departments')
  })

  it('creates a staff member whose personal data is shown masked, and finds them by name', async () => {
    await page.getByRole('menuitem', { name: '人员管理' }).click()
    await page.getByTestId('staff-create').click()
    await page.getByTestId('staff-employee-number').fill('E0001')
    await page.getByTestId('staff-name').fill('张三')
    await page.getByTestId('staff-departments').click()
    await page.locator('.ant-select-tree-node-content-wrapper', { hasText: '重症医学科' }).click()
    await page.keyboard.press('Escape')
    await page.getByLabel('手机号').fill('13812345678')
    await page.getByLabel('证件号码').fill('11010519491231002X')
    await page.getByTestId('staff-submit').click()
    const table = page.getByTestId('staff-table')
    await expect.poll(() => table.textContent()).toContain('张三')
    const text = (await table.textContent()) ?? ''
    expect(text).toContain('重症医学科')
    expect(text).not.toContain('13812345678')
    expect(text).not.toContain('11010519491231002X')
    expect(text).toMatch(/138\*+5678/)

    await page.getByTestId('staff-search-name').fill('李四')
    await page.getByTestId('staff-search-submit').click()
    await expect.poll(() => table.textContent()).not.toContain('张三')
    await page.getByTestId('staff-search-name').fill('张')
    await page.getByTestId('staff-search-submit').click()
    await expect.poll(() => table.textContent()).toContain('张三')
    await shot('07-staff')
  })

  it('dry-runs a staff import with a row error, then applies a clean file', async () => {
    await page.getByRole('menuitem', { name: '批量导入' }).click()
    const input = page.locator('[data-testid="import-file"] input[type="file"], input[type="file"]').first()
    const csv = (rows: string[]) => Buffer.from(['工号,姓名,科室编码,手机号', ...rows].join('\n'), 'utf8')
    await input.setInputFiles({
      name: 'staff.csv',
      mimeType: 'text/csv',
      buffer: csv(['E0002,李四,ICU,13900001111', 'E0003,王五,NOPE,']),
    })
    await page.getByTestId('import-dry-run').click()
    await expect.poll(() => page.getByTestId('import-errors').textContent()).toContain('NOPE')
    expect(await page.getByTestId('import-apply').isDisabled()).toBe(true)
    await shot('08-import-errors')

    await input.setInputFiles({ name: 'staff.csv', mimeType: 'text/csv', buffer: csv(['E0002,李四,ICU,13900001111']) })
    await page.getByTestId('import-dry-run').click()
    await expect.poll(() => page.getByTestId('import-apply').isEnabled()).toBe(true)
    await page.getByTestId('import-apply').click()
    await expect.poll(() => page.getByTestId('import-applied').isVisible()).toBe(true)
  })

  it('creates an account (initial password shown once) and gives it a role', async () => {
    await page.getByRole('menuitem', { name: '账户管理' }).click()
    await page.getByTestId('account-create').click()
    await page.getByTestId('account-username').fill('secadmin1')
    await page.getByTestId('account-display-name').fill('安全管理员一')
    await page.getByTestId('account-create-submit').click()
    await expect
      .poll(async () => (await page.getByTestId('secret-value').textContent())?.trim().length ?? 0)
      .toBeGreaterThan(11)
    await shot('09-account-created')
    await page.getByTestId('secret-close').click()

    const row = page.getByTestId('accounts-table').locator('tr', { hasText: 'secadmin1' })
    await row.getByRole('button', { name: '分配角色' }).click()
    await setChecked(page.getByRole('checkbox', { name: '安全管理员' }), true)
    await setChecked(page.getByRole('checkbox', { name: '审计管理员' }), true)
    await page.getByRole('button', { name: /确\s*定|OK/ }).click()
    // One of the three administrator roles per account: the dialog refuses two before asking the server.
    await expect.poll(() => page.getByText('系统管理员、安全管理员、审计管理员只能选择其一').count()).toBeGreaterThan(0)
    await setChecked(page.getByRole('checkbox', { name: '审计管理员' }), false)
    await page.getByRole('button', { name: /确\s*定|OK/ }).click()
    await expect.poll(() => row.textContent()).toContain('安全管理员')
  })

  it('registers a client system (secret shown once) and saves the security policy', async () => {
    await page.getByRole('menuitem', { name: '业务系统' }).click()
    await page.getByTestId('client-register').click()
    await page.getByTestId('client-code').fill('his')
    await page.getByTestId('client-name').fill('医院信息系统')
    await page.getByTestId('client-submit').click()
    await expect
      .poll(async () => (await page.getByTestId('secret-value').textContent())?.trim().length ?? 0)
      .toBeGreaterThan(16)
    await shot('10-client-secret')
    await page.getByTestId('secret-close').click()
    await expect.poll(() => page.getByTestId('clients-table').textContent()).toContain('医院信息系统')

    await page.getByRole('menuitem', { name: '安全策略' }).click()
    await page.getByTestId('policy-idleTimeoutMinutes').fill('20')
    await page.getByTestId('policy-form-submit').click()
    await expect.poll(() => page.getByText('已保存').count()).toBeGreaterThan(0)
  })

  it('shows the audit trail and verifies the chain', async () => {
    await page.getByRole('menuitem', { name: '审计日志' }).click()
    const table = page.getByTestId('audit-table')
    await expect.poll(() => table.textContent()).toContain('staff.')
    await page.getByTestId('audit-verify').click()
    await expect.poll(() => page.getByTestId('audit-report-status').textContent()).toContain('审计链完整')
    await shot('11-audit-verify')
    await page.keyboard.press('Escape')
    await table.locator('tbody tr').first().click()
    await expect.poll(() => page.getByTestId('audit-data').isVisible()).toBe(true)
    await shot('12-audit-record')
    await page.keyboard.press('Escape')
  })

  it('signs out, then signs in again with password and one-time code', async () => {
    await page.getByTestId('sign-out').click()
    await expect.poll(() => page.getByTestId('login-form').isVisible()).toBe(true)
    await shot('13-signed-out')

    await signIn('admin', NEW_PASSWORD)
    await expect.poll(() => page.getByTestId('login-totp').isVisible()).toBe(true)
    await shot('14-login-totp')
    // A code is accepted once (RFC 6238 §5.2): wait for a time step after the one the enrolment used.
    const wait = (enrolmentStep + 1) * 30_000 + 500 - Date.now()
    if (wait > 0) await page.waitForTimeout(wait)
    await page.getByTestId('login-totp').fill(totpCode(totpSecret, new Date()))
    await page.getByTestId('login-submit').click()
    // After an explicit sign-out the console starts again at home, not at the page the user left.
    await expect.poll(() => page.getByTestId('home').isVisible(), { timeout: 15_000 }).toBe(true)
    // The language switch in the header turns the whole console, menu included, into English and back.
    await page.getByTestId('lang-switch').locator('[data-lang="en"]').click()
    await expect.poll(() => page.getByTestId('sign-out').textContent()).toBe('Sign out')
    expect(await page.getByRole('menuitem', { name: 'Audit trail' }).count()).toBe(1)
    await shot('15-home-en')
    await page.getByTestId('lang-switch').locator('[data-lang="zh-CN"]').click()
    await expect.poll(() => page.getByTestId('sign-out').textContent()).toBe('退出登录')
    await page.getByTestId('sign-out').click()
    await expect.poll(() => page.getByTestId('login-form').isVisible()).toBe(true)
  })

  it('had no script errors or CSP violations', () => {
    expect(problems).toEqual([])
  })
})
