import { createHmac, timingSafeEqual } from 'node:crypto'
import { USER_NAME } from '../shared/names'

/**
 * A session is the user's name signed with the demo's secret: no password
 * and no session table, so every demo node (and a restarted one) accepts it
 * as long as they share `DEMO_SECRET`.
 */
export function createSessions(secret: string) {
  const sign = (name: string) => createHmac('sha256', secret).update(name).digest('base64url')
  return {
    /** The session string of `name` (assumed valid). */
    issue(name: string): string {
      return `${name}.${sign(name)}`
    },
    /** The user name of a session, or undefined when it is not one we signed. */
    verify(session: string | undefined): string | undefined {
      if (!session) return undefined
      const dot = session.lastIndexOf('.')
      const name = session.slice(0, dot)
      if (dot < 1 || !USER_NAME.test(name)) return undefined
      const given = Buffer.from(session.slice(dot + 1))
      const expected = Buffer.from(sign(name))
      return given.length === expected.length && timingSafeEqual(given, expected) ? name : undefined
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>
