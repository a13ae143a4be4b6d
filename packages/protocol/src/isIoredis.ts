/**
 * The members of an ioredis client these guards read. Protocol has no
 * runtime dependencies, so ioredis is recognised by its shape, not by
 * `instanceof` (which would also fail across two copies of ioredis).
 */
export interface IoredisLike {
  readonly isCluster: boolean
  readonly status: string
  duplicate: (...args: never[]) => unknown
  defineCommand: (...args: never[]) => unknown
}

function hasIoredisLike(value: unknown): value is IoredisLike {
  if (typeof value !== 'object' || value === null) return false
  const shape = value as Partial<IoredisLike>
  return (
    typeof shape.isCluster === 'boolean' &&
    typeof shape.status === 'string' &&
    typeof shape.duplicate === 'function' &&
    typeof shape.defineCommand === 'function'
  )
}

/**
 * True for an ioredis standalone client (`new Redis(…)`, also one made for
 * Sentinel), false for an ioredis `Cluster`, URLs, option objects and
 * anything else. The type parameter is what the caller's `redis` option
 * accepts as an instance, since protocol cannot import ioredis' types.
 *
 * @example
 * ```ts
 * import type { Redis } from 'ioredis'
 * const redis = isIoredis<Redis>(options.redis) ? options.redis : new Redis(options.redis)
 * ```
 * @see {@link isIoredisCluster} for the cluster client.
 */
export function isIoredis<Client extends object = IoredisLike>(value: unknown): value is Client {
  return hasIoredisLike(value) && !value.isCluster
}

/**
 * True for an ioredis `Cluster` client (`new Cluster([...])`), false for a
 * standalone client and anything else.
 *
 * @example
 * ```ts
 * import type { Cluster } from 'ioredis'
 * if (isIoredisCluster<Cluster>(options.redis)) throw new RedisseError('invalid-option', '…')
 * ```
 * @see {@link isIoredis} for the standalone client.
 */
export function isIoredisCluster<Client extends object = IoredisLike>(
  value: unknown,
): value is Client {
  return hasIoredisLike(value) && value.isCluster
}

/**
 * True for the `redis` option of a deployment on Redis Cluster: `{ cluster }`
 * options or an ioredis `Cluster`. An ioredis standalone client has a
 * `cluster()` method (the CLUSTER command), so it is not one.
 *
 * @example
 * ```ts
 * isClusterOption({ cluster: ['redis://10.0.0.1:7000'] }) // true
 * isClusterOption('redis://10.0.0.1:6379')                // false
 * ```
 */
export function isClusterOption<Options extends object>(value: unknown): value is Options {
  if (isIoredisCluster(value)) return true
  return (
    typeof value === 'object' &&
    value !== null &&
    'cluster' in value &&
    typeof (value as { defineCommand?: unknown }).defineCommand !== 'function'
  )
}
