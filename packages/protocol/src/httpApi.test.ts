import { describe, expect, test } from 'vitest'
import { HttpPaths } from './httpApi'

describe('HttpPaths', () => {
  test('names the publish endpoint', () => {
    expect(HttpPaths.publish).toBe('/publish')
  })

  test('builds subject paths', () => {
    expect(HttpPaths.subject('42')).toBe('/subjects/42')
    expect(HttpPaths.subjectTokens('42')).toBe('/subjects/42/tokens')
    expect(HttpPaths.subjectTokenRevoke('42')).toBe('/subjects/42/tokens/revoke')
    expect(HttpPaths.subjectChannels('42')).toBe('/subjects/42/channels')
    expect(HttpPaths.subjectChannel('42', 'room-1')).toBe('/subjects/42/channels/room-1')
  })

  test('percent-encodes each segment, so / : @ + = in names cannot change the route', () => {
    expect(HttpPaths.subjectChannel('a/b@c', 'team/general:x+y=z')).toBe(
      '/subjects/a%2Fb%40c/channels/team%2Fgeneral%3Ax%2By%3Dz',
    )
    expect(HttpPaths.subject('../admin')).toBe('/subjects/..%2Fadmin')
  })
})
