import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium } from 'playwright-core'
import { ROOT } from '../harness.js'

/** Debian's Chromium, or the one YIQIAN_CHROMIUM names. */
export const CHROMIUM = process.env.YIQIAN_CHROMIUM ?? '/usr/bin/chromium'
/** Where the browser tests leave their screenshots. */
export const SHOTS = join(ROOT, 'test-results', 'screenshots')

/** Headless Chromium without sandbox, GPU or background traffic (updates, sync, QUIC). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** CSP violations reach the page only as events: log each as a console error, for the tests to collect. */
export async function logCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
  })
}

/** The initial administrator's username and password, from the file the first start writes to the data folder. */
export function initialCredential(dataDir: string): { username: string; password: string } {
  const text = readFileSync(join(dataDir, 'initial-admin-credential.txt'), 'utf8')
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(text)?.[1]?.trim()
  const username = field('username')
  const password = field('password')
  if (!username || !password) throw new Error(`no credential in:\n${text}`)
  return { username, password }
}
