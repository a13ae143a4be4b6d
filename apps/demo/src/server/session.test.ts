import { describe, expect, it } from 'vitest'
import { createSessions } from './session'

describe('createSessions', () => {
  const sessions = createSessions('secret-one')

  it('gives back the name of a session it issued', () => {
    expect(sessions.verify(sessions.issue('ann'))).toBe('ann')
  })

  it('refuses a session signed with another secret, a changed name, or garbage', () => {
    const other = createSessions('secret-two').issue('ann')
    expect(sessions.verify(other)).toBeUndefined()
    const forged = sessions.issue('ann').replace(/^ann/, 'bob')
    expect(sessions.verify(forged)).toBeUndefined()
    expect(sessions.verify('ann')).toBeUndefined()
    expect(sessions.verify('.abc')).toBeUndefined()
    expect(sessions.verify(undefined)).toBeUndefined()
  })

  it('refuses names a user could not pick', () => {
    expect(sessions.verify(sessions.issue('a\nb'))).toBeUndefined()
  })
})
