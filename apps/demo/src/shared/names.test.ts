import { describe, expect, it } from 'vitest'
import { ROOM_ID, roomIdOf } from './names'

describe('roomIdOf', () => {
  it('turns a room name into a channel-safe slug', () => {
    expect(roomIdOf('  Release Party 2026! ')).toBe('release-party-2026')
    expect(ROOM_ID.test(roomIdOf('Ünïcode & friends'))).toBe(true)
  })

  it('gives an empty id for a name with nothing usable', () => {
    expect(roomIdOf('!!!')).toBe('')
  })
})
