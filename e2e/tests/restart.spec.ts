import {
  expect,
  messageLog,
  probedEvents,
  say,
  streamedTexts,
  test,
  uniqueName,
} from '../support/fixtures'
import { startDemo } from '../support/startDemo'

test('a demo node killed and restarted mid-conversation: nothing lost, nothing twice', async ({
  redis,
  newContext,
  signIn,
}) => {
  // Two nodes on one Redis: ann talks through the worker's node, bob
  // through a second one, which crashes while ann keeps talking.
  const nodeB = await startDemo({ redis: redis.url })
  try {
    const ann = await signIn(await newContext(), uniqueName('ann'))
    const bob = await signIn(await newContext(), uniqueName('bob'), { url: nodeB.url })
    await say(ann, 'before 1')
    await expect(messageLog(bob)).toContainText('before 1')
    await say(bob, 'before 2')
    await expect(messageLog(ann)).toContainText('before 2')

    await nodeB.stop({ hard: true })
    await expect(bob.getByRole('status', { name: 'Connection' })).not.toHaveText('Live')
    for (const text of ['while down 1', 'while down 2', 'while down 3']) {
      await say(ann, text)
      await expect(messageLog(ann)).toContainText(text)
    }
    await nodeB.start()
    await expect(bob.getByRole('status', { name: 'Connection' })).toHaveText('Live', {
      timeout: 20_000,
    })
    await say(ann, 'after 1')
    await say(bob, 'after 2')
    await expect(messageLog(bob)).toContainText('after 2')
    await expect(messageLog(bob)).toContainText('after 1')
    await expect(messageLog(ann)).toContainText('after 2')

    const expected = [
      'before 1',
      'before 2',
      'while down 1',
      'while down 2',
      'while down 3',
      'after 1',
      'after 2',
    ]
    await expect.poll(() => streamedTexts(bob, 'room:general')).toEqual(expected)
    const ids = (await probedEvents(bob)).filter((e) => e.type === 'message').map((e) => e.id)
    expect(new Set(ids).size).toBe(ids.length)
    // Resumed from Last-Event-ID: history covered the gap, no reset needed.
    expect(await bob.evaluate(() => window.__demo.resets)).toBe(0)
    expect(await bob.evaluate(() => window.__demo.reconnects)).toBeGreaterThan(0)
    await expect(messageLog(bob).getByText('while down 2')).toHaveCount(1)
    expect(await streamedTexts(ann, 'room:general')).toEqual(expected)
  } finally {
    await nodeB.stop()
  }
})

test('the demo server restarted under both users: they resume and keep talking', async ({
  demo,
  newContext,
  signIn,
}) => {
  const ann = await signIn(await newContext(), uniqueName('ann'))
  const bob = await signIn(await newContext(), uniqueName('bob'))
  await say(ann, 'one')
  await expect(messageLog(bob)).toContainText('one')

  await demo.restart()
  await expect(ann.getByRole('status', { name: 'Connection' })).toHaveText('Live', {
    timeout: 20_000,
  })
  await expect(bob.getByRole('status', { name: 'Connection' })).toHaveText('Live', {
    timeout: 20_000,
  })
  await say(bob, 'two')
  await say(ann, 'three')
  await expect(messageLog(ann)).toContainText('two')
  await expect(messageLog(bob)).toContainText('three')
  await expect.poll(() => streamedTexts(bob, 'room:general')).toEqual(['one', 'two', 'three'])
  expect(await streamedTexts(ann, 'room:general')).toEqual(['one', 'two', 'three'])
})
