import type { LaunchOptions } from '@playwright/test'

/** Debian's browsers by default; point these at others elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'

export const chromiumLaunch: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
}

/** Firefox ESR over WebDriver BiDi (`moz-firefox`); `args` set so a Chromium project's are not merged in. */
export const firefoxLaunch: LaunchOptions = {
  channel: 'moz-firefox',
  executablePath: FIREFOX_PATH,
  args: [],
}
