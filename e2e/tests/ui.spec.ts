import { expect, messageLog, say, test, uniqueName } from '../support/fixtures'

// Page behaviour that does not depend on the transport: run by the chromium
// and firefox projects only (see playwright.config.ts).

test('messages in another room raise its unread count until it is opened', async ({
  newContext,
  signIn,
}) => {
  const ann = await signIn(await newContext(), uniqueName('ann'))
  const bob = await signIn(await newContext(), uniqueName('bob'))
  await ann.getByRole('button', { name: /^random/ }).click()
  await expect(ann.getByRole('heading', { name: '# random' })).toBeVisible()

  await say(bob, 'one')
  await say(bob, 'two')
  await expect(ann.getByRole('button', { name: 'general, 2 unread' })).toBeVisible()
  await ann.getByRole('button', { name: 'general, 2 unread' }).click()
  await expect(messageLog(ann)).toContainText('two')
  await expect(ann.getByRole('button', { name: 'general', exact: true })).toBeVisible()
})

test('a new public room appears for others, who can join it and talk there', async ({
  newContext,
  signIn,
}) => {
  const ann = await signIn(await newContext(), uniqueName('ann'))
  const bob = await signIn(await newContext(), uniqueName('bob'))
  const room = uniqueName('launch')
  await ann.getByLabel('New room name').fill(room)
  await ann.getByRole('button', { name: 'Create' }).click()
  await expect(ann.getByRole('heading', { name: `# ${room.toLowerCase()}` })).toBeVisible()

  await bob.getByRole('button', { name: `Join ${room.toLowerCase()}` }).click()
  await expect(bob.getByRole('heading', { name: `# ${room.toLowerCase()}` })).toBeVisible()
  await say(bob, 'first!')
  await expect(messageLog(ann)).toContainText('first!')
})

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
