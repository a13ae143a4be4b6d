import { startRedis } from '@redisse/test-utils'
import { expect, messageLog, say, test, uniqueName } from '../support/fixtures'
import { startDemo } from '../support/startDemo'

test('when history cannot cover the gap, the page is reset and refetches the room', async ({
  newContext,
  signIn,
}) => {
  // A Redis of its own: the history setting is stored in Redis for every node.
  const redis = await startRedis()
  const node = await startDemo({ redis: redis.url, env: { DEMO_HISTORY_SIZE: '2' } })
  try {
    const ann = await signIn(await newContext(), uniqueName('ann'), { url: node.url })
    const bobContext = await newContext()
    const bob = await signIn(bobContext, uniqueName('bob'), { url: node.url })
    await say(ann, 'before')
    await expect(messageLog(bob)).toContainText('before')

    await bobContext.setOffline(true)
    await expect(bob.getByRole('status', { name: 'Connection' })).not.toHaveText('Live')
    const missed = ['gap 1', 'gap 2', 'gap 3', 'gap 4', 'gap 5']
    for (const text of missed) {
      await say(ann, text)
      await expect(messageLog(ann)).toContainText(text)
    }
    await bobContext.setOffline(false)
    await expect(bob.getByRole('status', { name: 'Connection' })).toHaveText('Live', {
      timeout: 20_000,
    })
    await expect.poll(() => bob.evaluate(() => window.__demo.resets)).toBeGreaterThan(0)
    for (const text of missed) await expect(messageLog(bob).getByText(text)).toHaveCount(1)
    await say(ann, 'after')
    await expect(messageLog(bob)).toContainText('after')
  } finally {
    await node.stop()
    await redis.stop()
  }
})
