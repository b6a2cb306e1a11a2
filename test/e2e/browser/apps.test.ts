import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, type RunningServer, startServer } from '../harness.js'
import { launchChromium, SHOTS } from './browser.js'

// The built console and mobile app, served by the real server, rendered in Debian's Chromium.
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

let server: RunningServer
let browser: Browser

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  server = await startServer({ YIQIAN_DATA: mkdtempSync(join(tmpdir(), 'yiqian-browser-')) })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/** Opens a fresh page that records script errors and CSP violations. */
async function open(path: string, viewport: { width: number; height: number }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|404)/.test(m.text())) problems.push(`console: ${m.text()}`)
  })
  const response = await page.goto(`${server.url}${path}`)
  expect(response?.status()).toBe(200)
  return { page, problems, close: () => context.close() }
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

describe.each([
  // The console signs in against /api/v1/auth/login; staff sign-in on the phone arrives with the signing issue, so
  // today the server answers the mobile form with a 404 problem and the page says so.
  {
    app: 'console',
    path: '/console/',
    viewport: { width: 1280, height: 800 },
    zhTitle: '管理控制台',
    refused: '用户名或密码错误',
  },
  { app: 'mobile', path: '/m/', viewport: { width: 390, height: 844 }, zhTitle: '医签', refused: '接口不存在' },
])('$app in Chromium', ({ app, path, viewport, zhTitle, refused }) => {
  it('shows the product name, the version and the sign-in form in Chinese by default', async () => {
    const { page, problems, close } = await open(path, viewport)
    await expect.poll(() => page.getByTestId('login-form').isVisible()).toBe(true)
    expect(await page.getByTestId('product-name').textContent()).toContain('医签')
    expect(await page.getByTestId('product-version').textContent()).toContain(VERSION)
    expect(await page.title()).toContain(zhTitle)
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN')
    await shot(page, `${app}-zh-CN`)
    expect(problems).toEqual([])
    await close()
  })

  it('switches to English', async () => {
    const { page, problems, close } = await open(`${path}?lang=en`, viewport)
    await expect.poll(() => page.getByTestId('login-submit').textContent()).toMatch(/sign in/i)
    expect(await page.locator('html').getAttribute('lang')).toBe('en')
    await shot(page, `${app}-en`)
    expect(problems).toEqual([])
    await close()
  })

  it('validates the form, and shows the server problem instead of pretending to sign in', async () => {
    const { page, close } = await open(path, viewport)
    await page.getByTestId('login-submit').click()
    await expect.poll(() => page.getByText(/请输入/).count()).toBeGreaterThan(0)
    await page.getByTestId('login-username').fill('admin')
    await page.getByTestId('login-password').fill('not-the-password')
    await page.getByTestId('login-submit').click()
    const error = page.getByTestId('login-error')
    await expect.poll(() => error.isVisible()).toBe(true)
    expect(await error.textContent()).toContain(refused)
    await shot(page, `${app}-login-error`)
    await close()
  })
})

describe('API reference in Chromium', () => {
  it('renders /docs under the content-security policy', async () => {
    const { page, problems, close } = await open('/docs/', { width: 1280, height: 900 })
    await expect.poll(() => page.locator('.swagger-ui .info .title').count(), { timeout: 15_000 }).toBeGreaterThan(0)
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Yiqian')
    await expect.poll(() => page.getByText('/readyz').count()).toBeGreaterThan(0)
    await shot(page, 'api-docs')
    expect(problems).toEqual([])
    await close()
  })
})
