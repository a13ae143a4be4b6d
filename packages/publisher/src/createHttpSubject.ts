import { HttpPaths, validateChannel, validateSubject, validateToken } from '@redisse/protocol'
import { answerField } from './answerField'
import { checkTokenTtl } from './checkTokenTtl'
import type { HttpClient } from './createHttpClient'
import type { Subject } from './Subject'

/** A subject over the server's `/subjects/…` endpoints (see protocol's `HttpPaths`). */
export function createHttpSubject(rawId: string, http: HttpClient): Subject {
  const id = validateSubject(rawId)
  return {
    id,
    async generateToken(options = {}) {
      const ttl = checkTokenTtl(options)
      const body = JSON.stringify(ttl === undefined ? {} : { ttl })
      const answer = await http.request('change', 'POST', HttpPaths.subjectTokens(id), body)
      return answerField('change', answer, 'token', 'string')
    },
    async revokeToken(token) {
      const body = JSON.stringify({ token: validateToken(token) })
      const answer = await http.request('change', 'POST', HttpPaths.subjectTokenRevoke(id), body)
      return answerField('change', answer, 'revoked', 'boolean')
    },
    async addChannel(channel) {
      const path = HttpPaths.subjectChannel(id, validateChannel(channel))
      return answerField('change', await http.request('change', 'PUT', path), 'added', 'boolean')
    },
    async removeChannel(channel) {
      const path = HttpPaths.subjectChannel(id, validateChannel(channel))
      const answer = await http.request('change', 'DELETE', path)
      return answerField('change', answer, 'removed', 'boolean')
    },
    async channels() {
      const answer = await http.request('read', 'GET', HttpPaths.subjectChannels(id))
      return answerField('read', answer, 'channels', 'string[]').sort()
    },
    async clear() {
      await http.request('change', 'DELETE', HttpPaths.subject(id))
    },
  }
}
