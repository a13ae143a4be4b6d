import { expect, messageLog, say, streamedTexts, test, uniqueName } from '../support/fixtures'

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
