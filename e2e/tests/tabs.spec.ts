import { expect, messageLog, say, streamedTexts, test, uniqueName } from '../support/fixtures'
import { startDemo } from '../support/startDemo'

test('every tab of one user receives the conversation', async ({ newContext, signIn }) => {
  const ann = await signIn(await newContext(), uniqueName('ann'))
  const bobName = uniqueName('bob')
  const bobContext = await newContext()
  const tabs = [await signIn(bobContext, bobName)]
  // The session is shared by the tabs of a browser: the next ones open signed in.
  for (let i = 0; i < 2; i++) tabs.push(await signIn(bobContext, bobName))
  for (const tab of tabs) await expect(tab.getByText(`Signed in as ${bobName}`)).toBeVisible()

  await say(ann, 'to every tab')
  for (const tab of tabs) await expect(messageLog(tab)).toContainText('to every tab')
  await say(tabs[2]!, 'from the third tab')
  await expect(messageLog(ann)).toContainText('from the third tab')
  for (const tab of tabs) {
    await expect(messageLog(tab)).toContainText('from the third tab')
    await expect
      .poll(() => streamedTexts(tab, 'room:general'))
      .toEqual(['to every tab', 'from the third tab'])
  }
})

test('with ?shared=1 the tabs of one browser share one stream, and another takes over when it closes', async ({
  redis,
  newContext,
  signIn,
}) => {
  // A node of its own, so its /stats counts only this test's streams.
  const node = await startDemo({ redis: redis.url })
  try {
    const shared = { url: node.url, query: { shared: '1' } }
    const ann = await signIn(await newContext(), uniqueName('ann'), shared)
    const bobName = uniqueName('bob')
    const bobContext = await newContext()
    const tabs = [await signIn(bobContext, bobName, shared)]
    for (let i = 0; i < 2; i++)
      tabs.push(await signIn(bobContext, bobName, { ...shared, ownStream: false }))

    await say(ann, 'to the shared stream')
    for (const tab of tabs) await expect(messageLog(tab)).toContainText('to the shared stream')
    // ann's stream and ONE for bob's three tabs.
    await expect.poll(async () => (await node.stats()).connections).toBe(2)
    for (const tab of tabs) {
      await expect.poll(() => streamedTexts(tab, 'room:general')).toEqual(['to the shared stream'])
    }

    // The tab holding the stream goes away: another one takes it over.
    await tabs[0]!.close()
    await say(ann, 'after the first tab closed')
    for (const tab of tabs.slice(1)) {
      await expect(tab.getByRole('status', { name: 'Connection' })).toHaveText('Live')
      await expect(messageLog(tab)).toContainText('after the first tab closed')
      await expect
        .poll(() => streamedTexts(tab, 'room:general'))
        .toEqual(['to the shared stream', 'after the first tab closed'])
    }
    await expect.poll(async () => (await node.stats()).connections).toBe(2)
  } finally {
    await node.stop()
  }
})
