import type { ViteUserConfig } from 'vitest/config'

/** Vitest config shared by the packages (see vitestConfig.mjs). */
export function redisseVitestConfig(options?: { redis?: boolean }): ViteUserConfig
