import { expect, messageLog, say, test, uniqueName } from '../support/fixtures'
import { startDemo } from '../support/startDemo'

test('two users in two different browsers chat both ways', async ({
  newContext,
  otherBrowser,
  signIn,
  browserName,
}) => {
  const ann = await signIn(await newContext(), uniqueName('ann'))
  const bob = await signIn(await newContext(otherBrowser), uniqueName('bob'))
  expect(await bob.evaluate(() => navigator.userAgent)).not.toEqual(
    await ann.evaluate(() => navigator.userAgent),
  )

  await say(ann, `hello from ${browserName}`)
  await expect(messageLog(bob)).toContainText(`hello from ${browserName}`)
  await say(bob, 'hello back from the other browser')
  await expect(messageLog(ann)).toContainText('hello back from the other browser')
  // Each sees its own message too, once.
  await expect(messageLog(ann).getByText(`hello from ${browserName}`)).toHaveCount(1)
  await expect(messageLog(bob).getByText('hello back from the other browser')).toHaveCount(1)
})

test('runs on the embedded broker with no Redis at all', async ({ newContext, signIn }) => {
  const node = await startDemo()
  try {
    const ann = await signIn(await newContext(), uniqueName('ann'), { url: node.url })
    const bob = await signIn(await newContext(), uniqueName('bob'), { url: node.url })
    await say(ann, 'no redis here')
    await expect(messageLog(bob)).toContainText('no redis here')
  } finally {
    await node.stop()
  }
})

test('the page streams over the transport the project asks for', async ({
  newContext,
  signIn,
  transport,
  noEventSource,
}) => {
  const page = await signIn(await newContext(), uniqueName('ann'))
  const expected = transport !== 'auto' ? transport : noEventSource ? 'fetch' : 'eventsource'
  expect(await page.evaluate(() => window.__demo.transport)).toBe(expected)
  expect(await page.evaluate(() => typeof window.EventSource)).toBe(
    noEventSource ? 'undefined' : 'function',
  )
})
