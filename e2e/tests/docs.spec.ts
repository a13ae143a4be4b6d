import { fileURLToPath } from 'node:url'
import { expect, messageLog, say, test } from '../support/fixtures'

// Not part of `pnpm e2e`: `pnpm --filter @redisse/e2e screenshots` writes
// docs/demo.png, the README's picture of the real demo with two users.
const target = fileURLToPath(new URL('../../docs/demo.png', import.meta.url))

test('screenshot of two users chatting, on a desktop and on a phone', async ({
  browser,
  signIn,
}) => {
  const desktop = await browser.newContext({
    viewport: { width: 1100, height: 680 },
    colorScheme: 'light',
    deviceScaleFactor: 1,
  })
  const phone = await browser.newContext({
    viewport: { width: 390, height: 680 },
    colorScheme: 'light',
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  })
  const ann = await signIn(desktop, 'ann')
  const bob = await signIn(phone, 'bob')
  await say(ann, 'Hi Bob! The release is out.')
  await expect(messageLog(bob)).toContainText('release is out')
  await say(bob, 'Saw it. The push latency is unreal.')
  await say(ann, 'One SSE stream per tab, Redis behind it.')
  await ann.getByRole('button', { name: /^random/ }).click()
  await say(ann, 'Typing indicators and presence are events too.')
  await say(ann, 'And unread counts per room.')
  await ann.getByRole('button', { name: /^general/ }).click()
  await say(ann, 'Check #random when you can')
  await expect(messageLog(bob)).toContainText('Check #random')
  await expect(bob.getByRole('button', { name: 'random, 2 unread' })).toBeVisible()
  await bob.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('Nice, ')
  await expect(ann.getByText('bob is typing…')).toBeVisible()

  const left = await ann.screenshot()
  const right = await bob.screenshot()
  const frame = await desktop.newPage()
  await frame.setViewportSize({ width: 1100 + 390 + 72, height: 680 + 48 })
  await frame.setContent(`<body style="margin:0;padding:24px;background:#e9ecf1;display:flex;gap:24px">
    <img style="border-radius:10px;box-shadow:0 4px 18px #0003" src="data:image/png;base64,${left.toString('base64')}">
    <img style="border-radius:22px;box-shadow:0 4px 18px #0003" src="data:image/png;base64,${right.toString('base64')}">
  </body>`)
  await frame.screenshot({ path: target })
  await desktop.close()
  await phone.close()
})
