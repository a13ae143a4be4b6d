import { defineConfig } from 'vitest/config'

/**
 * Vitest config shared by the packages: workspace packages resolve to their
 * `src` through the `@redisse/source` export condition, so tests never need a
 * build; integration tests share one real redis-server started for the run.
 */
export function redisseVitestConfig({ redis = false } = {}) {
  const conditions = ['@redisse/source', 'module', 'node', 'development|production']
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@redisse/source'] } },
    test: {
      include: ['src/**/*.test', 'test/**/*.test'],
      globalSetup: redis ? [new URL('./globalSetup', import.meta.url).pathname] : [],
      testTimeout: 15_000,
      hookTimeout: 15_000,
      typecheck: { enabled: true, include: ['src/**/*.test-d', 'test/**/*.test-d'] },
      reporters: ['default'],
    },
  })
}
