import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium'

/**
 * Browser tests run wherever Chromium is installed. In CI they must run:
 * `.ci/run` sets LIFELINE_REQUIRE_BROWSER, and a missing Chromium then fails
 * the launch instead of skipping.
 */
export const runBrowserTests = existsSync(CHROMIUM) || process.env.LIFELINE_REQUIRE_BROWSER === '1' || process.env.CI !== undefined
if (!runBrowserTests) console.warn(`Browser tests skipped: ${CHROMIUM} is missing (Debian: apt-get install chromium)`)

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The machine's network is closed: background networking only produces refused connections.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
