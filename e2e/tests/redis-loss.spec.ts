import { startRedis } from '@redisse/test-utils'
import { expect, messageLog, say, test, uniqueName } from '../support/fixtures'
import { startDemo } from '../support/startDemo'

test('Redis restarted empty: the pages resync with the backend and keep chatting', async ({
  newContext,
  signIn,
}) => {
  // A Redis of its own, since this test wipes it.
  const redis = await startRedis()
  const node = await startDemo({ redis: redis.url })
  try {
    const ann = await signIn(await newContext(), uniqueName('ann'), { url: node.url })
    const bob = await signIn(await newContext(), uniqueName('bob'), { url: node.url })
    await say(ann, 'before the wipe')
    await expect(messageLog(bob)).toContainText('before the wipe')

    await redis.restart()
    // Rooms, members, tokens and history are gone. The first send fails
    // (the page then resyncs: /api/me restores the default rooms), the
    // next one starts a new log, and every stream is reset.
    await expect(async () => {
      await say(ann, 'after the wipe')
      await expect(messageLog(bob)).toContainText('after the wipe', { timeout: 2000 })
    }).toPass({ timeout: 25_000 })
    for (const page of [ann, bob]) {
      await expect.poll(() => page.evaluate(() => window.__demo.resets)).toBeGreaterThan(0)
      await expect(page.getByRole('status', { name: 'Connection' })).toHaveText('Live')
    }
    await say(bob, 'still here')
    await expect(messageLog(ann)).toContainText('still here')
  } finally {
    await node.stop()
    await redis.stop()
  }
})
