import {
  expect,
  messageLog,
  probedEvents,
  say,
  streamedTexts,
  test,
  uniqueName,
} from '../support/fixtures'

test('a user removed from a private room stops receiving it at once, without reconnecting', async ({
  newContext,
  signIn,
}) => {
  const annName = uniqueName('ann')
  const bobName = uniqueName('bob')
  const ann = await signIn(await newContext(), annName)
  const bob = await signIn(await newContext(), bobName)
  const room = uniqueName('secret').toLowerCase()
  const channel = `room:${room}`

  await ann.getByLabel('New room name').fill(room)
  await ann.getByLabel('Private').check()
  await ann.getByRole('button', { name: 'Create' }).click()
  await expect(ann.getByRole('heading', { name: `${room} private` })).toBeVisible()
  // Nobody else sees a private room.
  await expect(bob.getByRole('button', { name: `Join ${room}` })).toHaveCount(0)

  await ann.getByText('Members (1)').click()
  await ann.getByLabel('Invite someone').fill(bobName)
  await ann.getByRole('button', { name: 'Invite' }).click()
  await expect(bob.getByRole('alert').filter({ hasText: `${annName} added you to` })).toBeVisible()
  await bob.getByRole('button', { name: `${room} (private)` }).click()
  await say(ann, 'welcome in')
  await expect(messageLog(bob)).toContainText('welcome in')
  await say(bob, 'thanks')
  await expect(messageLog(ann)).toContainText('thanks')

  const statesBefore = await bob.evaluate(() => window.__demo.state)
  expect(statesBefore).toBe('open')
  const eventsBefore = (await probedEvents(bob)).length

  await ann.getByRole('button', { name: `Remove ${bobName} from ${room}` }).click()
  await expect(
    bob.getByRole('alert').filter({ hasText: `${annName} removed you from` }),
  ).toBeVisible()
  await expect(bob.getByRole('button', { name: `${room} (private)` })).toHaveCount(0)

  await say(ann, 'after the kick')
  await expect(messageLog(ann)).toContainText('after the kick')
  // Bob's stream still delivers the rooms he is in...
  await say(ann, `${room} is private now`)
  await ann.getByRole('button', { name: /^general/ }).click()
  await say(ann, 'still in general')
  await expect(messageLog(bob)).toContainText('still in general')
  // ...but nothing of the private room after the removal, on the same connection.
  expect(await streamedTexts(bob, channel)).toEqual(['welcome in', 'thanks'])
  const after = (await probedEvents(bob)).slice(eventsBefore)
  expect(after.some((event) => event.type === 'kicked')).toBe(true)
  expect(after.filter((event) => event.channel === channel)).toEqual([])
  expect(await bob.evaluate(() => window.__demo.state)).toBe('open')
  expect(await bob.evaluate(() => window.__demo.reconnects)).toBe(0)
})
