import { expect, messageLog, say, test, uniqueName } from '../support/fixtures'
import { startDemo } from '../support/startDemo'

// The embedded broker keeps tokens in the process: after a restart every
// stream is refused with 401. A native EventSource hides that status, so
// the client learns it with one fetch and asks `onAuthError` for a new
// token: both pages come back without a reload.
test('the demo restarted on the embedded broker: both pages get a new token and are live again', async ({
  newContext,
  signIn,
}) => {
  const node = await startDemo()
  try {
    const ann = await signIn(await newContext(), uniqueName('ann'), { url: node.url })
    const bob = await signIn(await newContext(), uniqueName('bob'), { url: node.url })
    await say(ann, 'before the restart')
    await expect(messageLog(bob)).toContainText('before the restart')
    const loads = { ann: 0, bob: 0 }
    ann.on('load', () => (loads.ann += 1))
    bob.on('load', () => (loads.bob += 1))

    await node.restart({ hard: true })
    for (const page of [ann, bob]) {
      await expect(page.getByRole('status', { name: 'Connection' })).toHaveText('Live', {
        timeout: 20_000,
      })
    }
    await say(ann, 'after the restart')
    await expect(messageLog(bob)).toContainText('after the restart')
    await say(bob, 'and back')
    await expect(messageLog(ann)).toContainText('and back')
    expect(loads).toEqual({ ann: 0, bob: 0 })
  } finally {
    await node.stop()
  }
})
