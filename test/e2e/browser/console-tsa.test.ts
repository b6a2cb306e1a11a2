import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { totpCode } from '@yiqian/core'
import { createSigner } from '@yiqian/gm'
import { buildTimeStampResp, buildTstInfo, digest, signTimeStampToken } from '@yiqian/pki'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../harness.js'
import { initialCredential, launchChromium, logCspViolations, SHOTS } from './browser.js'

// The TSA page of the console against the real server: the initial administrator (sysadmin: tsa.read and
// tsa.manage) opens it, sees the status, adds a time source, creates a signing unit, looks at every tab and runs
// the verify tool on a token signed here. A screenshot of each tab is left in test-results/screenshots.
const ADMIN_PASSWORD = 'Yiqian-console-2026!'
const UNIT = '时间戳单元 SM2'

let server: RunningServer
let browser: Browser
let context: BrowserContext
let page: Page
let dataDir: string
let work: string
const problems: string[] = []

function poll<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: 10_000, interval: 100, ...options })
}

/** Waits until dialogs and messages have finished animating and tables have finished loading. */
async function settled(): Promise<void> {
  await page
    .waitForFunction(
      () => {
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

async function shot(name: string) {
  await settled()
  await page.screenshot({ path: join(SHOTS, `console-tsa-${name}.png`), fullPage: true })
}

async function tab(key: string) {
  await page.getByTestId(`tsa-tab-${key}`).click()
  await settled()
}

async function textOf(locator: Locator): Promise<string> {
  return (await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : ''
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  dataDir = mkdtempSync(join(tmpdir(), 'yiqian-console-tsa-'))
  work = mkdtempSync(join(tmpdir(), 'yiqian-console-tsa-files-'))
  server = await startServer({ YIQIAN_DATA: dataDir }, 60_000)
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
  await logCspViolations(context)
  page = await context.newPage()
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`)
  })
})

afterEach(async ({ task }) => {
  if (task.result?.state !== 'fail' || !page) return
  const slug = task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)
  await page.screenshot({ path: join(SHOTS, `console-tsa-failed-${slug}.png`) })
})

afterAll(async () => {
  await context?.close()
  await browser?.close()
  await server?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('console TSA page in Chromium', () => {
  it('the initial administrator signs in and finds the TSA page in the certificate menu', async () => {
    const { username, password } = initialCredential(dataDir)
    await page.goto(`${server.url}/console/`)
    await poll(() => page.getByTestId('login-form').isVisible()).toBe(true)
    await page.getByTestId('login-username').fill(username)
    await page.getByTestId('login-password').fill(password)
    await page.getByTestId('login-submit').click()
    await poll(() => page.getByTestId('first-login').isVisible()).toBe(true)
    await page.getByTestId('password-current').fill(password)
    await page.getByTestId('password-new').fill(ADMIN_PASSWORD)
    await page.getByTestId('password-confirm').fill(ADMIN_PASSWORD)
    await page.getByTestId('password-submit').click()
    await poll(async () => (await textOf(page.getByTestId('totp-secret'))).trim()).toMatch(/^[A-Z2-7]{16,}/)
    const secret = /[A-Z2-7]{16,}/.exec(await textOf(page.getByTestId('totp-secret')))?.[0] ?? ''
    await page.getByTestId('totp-code').fill(totpCode(secret, new Date()))
    await page.getByTestId('totp-submit').click()
    await poll(() => page.getByTestId('home').isVisible(), { timeout: 15_000 }).toBe(true)

    await page.getByRole('menuitem', { name: '时间戳服务' }).click()
    await poll(() => page.getByTestId('tsa-tabs').isVisible()).toBe(true)
    expect(page.url()).toMatch(/\/console\/tsa/)
  })

  it('shows the service status: state, issuing or why not, time synchronisation', async () => {
    await poll(() => textOf(page.getByTestId('tsa-state'))).toMatch(/运行中|已停止/)
    await poll(() => textOf(page.getByTestId('tsa-issuing'))).toMatch(/正在签发时间戳|不签发/)
    expect(await textOf(page.getByTestId('tsa-status'))).toContain('累计签发')
    await shot('01-status')
  })

  it('stops the service with a required reason, then starts it again', async () => {
    await page.getByTestId('tsa-stop').click()
    await settled()
    await page.getByTestId('tsa-reason-submit').click()
    await poll(() => textOf(page.locator('.ant-modal'))).toContain('请填写原因')
    await page.getByTestId('tsa-reason').fill('机房维护 / maintenance')
    await page.getByTestId('tsa-reason-submit').click()
    await poll(() => textOf(page.getByTestId('tsa-state'))).toBe('已停止')
    await poll(() => textOf(page.getByTestId('tsa-issuing'))).toContain('服务已停止')
    expect(await textOf(page.getByTestId('tsa-status'))).toContain('机房维护 / maintenance')
    await shot('01b-stopped')
    await page.getByTestId('tsa-start').click()
    await settled()
    await page.getByTestId('tsa-reason').fill('维护结束 / maintenance over')
    await page.getByTestId('tsa-reason-submit').click()
    await poll(() => textOf(page.getByTestId('tsa-state'))).toBe('运行中')
  })

  it('adds a time source after refusing an address that is not host[:port]', async () => {
    await tab('sources')
    await page.getByTestId('tsa-source-name').fill('国家授时中心')
    await page.getByTestId('tsa-source-address').fill('ntp .example:99999')
    await page.getByTestId('tsa-source-add').click()
    await poll(() => textOf(page.getByTestId('tsa-source-form'))).toContain('请输入 host 或 host:port')
    await page.getByTestId('tsa-source-address').fill('ntp.ntsc.ac.cn:123')
    await page.getByTestId('tsa-source-add').click()
    const row = page.getByTestId('tsa-sources-table').locator('tbody tr', { hasText: 'ntp.ntsc.ac.cn:123' })
    await poll(() => row.count()).toBe(1)
    expect(await row.textContent()).toContain('国家授时中心')
    await shot('02-sources')
  })

  it('creates an SM2 signing unit whose certificate the platform CA issues', async () => {
    await tab('units')
    await page.getByTestId('tsa-unit-create').click()
    await settled()
    await page.getByTestId('tsa-unit-name').fill(UNIT)
    await page.getByTestId('tsa-unit-submit').click()
    const row = page.getByTestId('tsa-units-table').locator('tbody tr', { hasText: UNIT })
    await poll(() => row.count(), { timeout: 30_000 }).toBe(1)
    await poll(() => row.textContent()).toMatch(/SM2/)
    // The certificate's subject and validity are shown once it is issued.
    await poll(() => row.textContent()).toMatch(/\d{4}.*–.*\d{4}/)
    await shot('03-units')
  })

  it('shows the token log, settings and system facts', async () => {
    await tab('tokens')
    await poll(() => page.getByTestId('tsa-tokens-table').isVisible()).toBe(true)
    await shot('04-tokens')
    await tab('settings')
    await poll(() => page.getByTestId('tsa-settings').isVisible()).toBe(true)
    await poll(async () => (await page.getByTestId('tsa-setting-toleranceMs').inputValue()) !== '').toBe(true)
    await shot('05-settings')
    // Adds a policy and drops the one that is the default: the server names defaultPolicy, shown on that field.
    const settings = page.getByTestId('tsa-settings')
    const policies = page.getByTestId('tsa-setting-policies')
    await policies.locator('input').fill('1.2.156.112233.9')
    await policies.locator('input').press('Enter')
    await poll(() => textOf(policies)).toContain('1.2.156.112233.9')
    await policies.locator('.ant-select-selection-item-remove').first().click()
    await poll(() => policies.locator('.ant-select-selection-item').count()).toBe(1)
    await page.getByTestId('tsa-settings-submit').click()
    const error = settings.locator('.ant-form-item-has-error', { hasText: '默认策略' })
    await poll(() => textOf(error)).toMatch(/policies/)
    await shot('05b-settings-field-error')
    await tab('system')
    await poll(() => textOf(page.getByTestId('tsa-system'))).toMatch(/Node\.js/)
    await shot('06-system')
  })

  it('verifies an uploaded token with its data file and shows each check', async () => {
    // A token signed here by an ECDSA TSA certificate that OpenSSL makes: the signature and imprint check pass;
    // whether the server trusts this TSA is its own verdict, which the page shows as it is.
    execFileSync(
      'sh',
      [
        '-ec',
        'openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -out tsa.pem ' +
          '-subj /CN=outside-tsa -days 30 -addext "extendedKeyUsage=critical,timeStamping" ' +
          '-addext "basicConstraints=critical,CA:FALSE"',
      ],
      { cwd: work, stdio: 'ignore' },
    )
    const data = new TextEncoder().encode('病历 medical record 2026-11-28\n')
    const certDer = new Uint8Array(
      Buffer.from(
        readFileSync(join(work, 'tsa.pem'), 'utf8')
          .replace(/-----[^-]+-----/g, '')
          .replace(/\s+/g, ''),
        'base64',
      ),
    )
    const tstInfo = buildTstInfo({
      policy: '1.2.156.112233.1.1',
      imprint: digest('SHA-256', data),
      hashAlgorithm: 'SHA-256',
      serialNumber: 0x7e57n,
    })
    const token = await signTimeStampToken({
      tstInfo,
      signer: createSigner(readFileSync(join(work, 'tsa.key'), 'utf8')),
      certificate: certDer,
    })
    writeFileSync(join(work, 'record.txt'), data)
    writeFileSync(join(work, 'record.tsr'), buildTimeStampResp({ status: 'granted', token }))

    await tab('verify')
    const [tokenChooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.getByTestId('tsa-verify-token').click(),
    ])
    await tokenChooser.setFiles(join(work, 'record.tsr'))
    const [dataChooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.getByTestId('tsa-verify-data').click(),
    ])
    await dataChooser.setFiles(join(work, 'record.txt'))
    await page.getByTestId('tsa-verify-run').click()
    const checks = page.getByTestId('tsa-verify-checks')
    await poll(() => checks.isVisible(), { timeout: 15_000 }).toBe(true)
    const row = (name: string) =>
      checks.locator('tbody tr').filter({ has: page.locator('td', { hasText: new RegExp(`^${name}$`) }) })
    await poll(() => textOf(row('签名'))).toContain('通过')
    expect(await textOf(row('数据摘要'))).toContain('通过')
    // This TSA is not one of ours: its certificate does not chain to the platform's CAs, so the token is not valid.
    expect(await textOf(row('证书链'))).toContain('失败')
    const result = await textOf(page.getByTestId('tsa-verify-result'))
    expect(result).toContain('时间戳无效')
    expect(result).toMatch(/7e57/i)
    expect(result).toContain('CN=outside-tsa')
    await shot('07-verify')
  })

  it('left no script errors, CSP violations or 5xx answers in the browser console', () => {
    expect(problems).toEqual([])
  })
})
