import { hashToken, type RedisKeys } from '@redisse/protocol'
import type { Publisher } from '@redisse/publisher'
import type { Cluster, Redis } from 'ioredis'
import type { Broker } from './Broker'
import type { Bounded } from './createLogAccess'

/**
 * Token lookups (read directly) and subject management (through the
 * publisher, so each edit and its control message exist once), bounded by
 * `bounded`: what the Redis and the cluster broker serve alike. On a
 * cluster, `keys` are the cluster names (`createKeys(prefix, { cluster: true })`).
 */
export function createTokenAccess(options: {
  command: Redis | Cluster
  keys: RedisKeys
  publisher: Publisher
  bounded: Bounded
}): Pick<Broker, 'resolveToken' | 'subjects'> {
  const { keys, publisher, bounded } = options
  const command = options.command as Redis
  return {
    async resolveToken(token) {
      const hash = await hashToken(token)
      // Sent together (one write): the token's remaining life in ms, for the
      // server to end its streams when it runs out.
      const [subject, pttl] = await bounded(
        'look the token up',
        Promise.all([command.get(keys.token(hash)), command.pttl(keys.token(hash))]),
      )
      if (!subject) return undefined
      const [channels, granted] = await bounded(
        'read the channels of the token',
        Promise.all([
          command.smembers(keys.subjectChannels(subject)),
          command.hgetall(keys.subjectGranted(subject)),
        ]),
      )
      return {
        subject,
        channels: channels.sort(),
        grantedAt: granted,
        // -1: no expiry; -2: expired between the two reads.
        token: { hash, expiresAt: pttl === -1 ? undefined : Date.now() + Math.max(0, pttl) },
      }
    },
    subjects: {
      generateToken: (subject, opts = {}) =>
        bounded(
          'store a token',
          publisher.subject(subject).generateToken(opts.ttl === undefined ? {} : { ttl: opts.ttl }),
        ),
      addChannel: (subject, channel) =>
        bounded('add a channel to a subject', publisher.subject(subject).addChannel(channel)),
      removeChannel: (subject, channel) =>
        bounded('remove a channel of a subject', publisher.subject(subject).removeChannel(channel)),
      channels: (subject) =>
        bounded('read the channels of a subject', publisher.subject(subject).channels()),
      revokeToken: (subject, token) =>
        bounded('revoke a token', publisher.subject(subject).revokeToken(token)),
      clear: (subject) => bounded('clear a subject', publisher.subject(subject).clear()),
    },
  }
}
