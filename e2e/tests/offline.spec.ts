import {
  expect,
  messageLog,
  probedEvents,
  say,
  streamedTexts,
  test,
  uniqueName,
} from '../support/fixtures'

test('a browser that goes offline and back gets what it missed, once', async ({
  newContext,
  signIn,
}) => {
  const ann = await signIn(await newContext(), uniqueName('ann'))
  const bobContext = await newContext()
  const bob = await signIn(bobContext, uniqueName('bob'))
  await say(ann, 'online 1')
  await expect(messageLog(bob)).toContainText('online 1')

  await bobContext.setOffline(true)
  await expect(bob.getByRole('status', { name: 'Connection' })).not.toHaveText('Live')
  for (const text of ['offline 1', 'offline 2']) {
    await say(ann, text)
    await expect(messageLog(ann)).toContainText(text)
  }
  await bobContext.setOffline(false)
  await expect(bob.getByRole('status', { name: 'Connection' })).toHaveText('Live', {
    timeout: 20_000,
  })
  await say(ann, 'online 2')
  await expect(messageLog(bob)).toContainText('online 2')
  await expect(messageLog(bob)).toContainText('offline 2')

  await expect
    .poll(() => streamedTexts(bob, 'room:general'))
    .toEqual(['online 1', 'offline 1', 'offline 2', 'online 2'])
  const ids = (await probedEvents(bob)).filter((e) => e.type === 'message').map((e) => e.id)
  expect(new Set(ids).size).toBe(ids.length)
})
