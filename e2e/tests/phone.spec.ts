import { expect, messageLog, say, test, uniqueName } from '../support/fixtures'

test('on a phone-sized screen the chat fits the width and every control is reachable', async ({
  newContext,
  signIn,
}) => {
  const bob = await signIn(await newContext(), uniqueName('bob'))
  await bob.setViewportSize({ width: 375, height: 667 })
  const ann = await signIn(await newContext(), uniqueName('ann'))
  await say(ann, 'a long message that has to wrap on a narrow screen instead of scrolling sideways')
  await expect(messageLog(bob)).toContainText('scrolling sideways')

  expect(await bob.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(
    true,
  )
  // The conversation takes the whole width: the room list moves above it.
  expect((await messageLog(bob).boundingBox())?.width).toBeGreaterThan(340)
  for (const control of [
    bob.getByRole('button', { name: /^general/ }),
    bob.getByRole('button', { name: /^random/ }),
    bob.getByRole('textbox', { name: 'Message', exact: true }),
    bob.getByRole('button', { name: 'Send' }),
    bob.getByRole('status', { name: 'Connection' }),
  ]) {
    await expect(control).toBeInViewport()
  }
  await say(bob, 'typed on the phone')
  await expect(messageLog(ann)).toContainText('typed on the phone')
})
