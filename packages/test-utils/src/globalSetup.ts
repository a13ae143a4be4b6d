import type { TestProject } from 'vitest/node'
import { startRedis } from './startRedis'

import './providedContext'

/** Vitest global setup: one real redis-server for the whole run, killed at the end. */
export default async function setup(project: TestProject) {
  const redis = await startRedis()
  project.provide('redisUrl', redis.url)
  return async () => {
    await redis.stop()
  }
}
