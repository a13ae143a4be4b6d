// Plain JavaScript on purpose: Vite loads the imports of a config file with
// Node itself, and Node 20 cannot load TypeScript.
import { defineConfig } from 'vitest/config'

// Vitest 5's reporter calls Map.groupBy, which Node 20 lacks (Node ≥ 21 has
// it); without this, a failing test crashes the report instead of showing.
if (typeof Map.groupBy !== 'function') {
  Map.groupBy = (items, keyOf) => {
    const groups = new Map()
    let index = 0
    for (const item of items) {
      const key = keyOf(item, index++)
      const group = groups.get(key)
      if (group) group.push(item)
      else groups.set(key, [item])
    }
    return groups
  }
}

/**
 * Vitest config shared by the packages: workspace packages resolve to their
 * `src` through the `@redisse/source` export condition, so tests never need a
 * build; integration tests share one real redis-server started for the run.
 * @param {{ redis?: boolean }} [options]
 */
export function redisseVitestConfig({ redis = false } = {}) {
  const conditions = ['@redisse/source', 'module', 'node', 'development|production']
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@redisse/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      globalSetup: redis ? [new URL('./src/globalSetup.ts', import.meta.url).pathname] : [],
      testTimeout: 15_000,
      hookTimeout: 15_000,
      typecheck: { enabled: true, include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'] },
      reporters: ['default'],
    },
  })
}
