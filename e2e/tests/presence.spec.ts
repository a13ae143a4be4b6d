import { expect, say, test, uniqueName } from '../support/fixtures'

test('others see who is online, and who is typing until the message arrives', async ({
  newContext,
  signIn,
}) => {
  const annName = uniqueName('ann')
  const bobName = uniqueName('bob')
  const ann = await signIn(await newContext(), annName)
  const bobContext = await newContext()
  const bob = await signIn(bobContext, bobName)

  const annOnline = ann.getByRole('list', { name: 'Online users' })
  await expect(annOnline.getByText(bobName, { exact: true })).toBeVisible()
  await expect(bob.getByRole('list', { name: 'Online users' }).getByText(annName)).toBeVisible()

  await bob.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('hel')
  await expect(ann.getByText(`${bobName} is typing…`)).toBeVisible()
  await expect(bob.getByText(`${bobName} is typing…`)).toHaveCount(0)
  await bob.getByRole('textbox', { name: 'Message', exact: true }).fill('hello')
  await bob.getByRole('button', { name: 'Send' }).click()
  // The message ends the indicator at once, not after its time-out.
  await expect(ann.getByRole('log')).toContainText('hello')
  await expect(ann.getByText(`${bobName} is typing…`)).toHaveCount(0, { timeout: 1000 })

  await bobContext.close()
  await expect(annOnline.getByText(bobName, { exact: true })).toHaveCount(0)
  await say(ann, 'bob left')
})
