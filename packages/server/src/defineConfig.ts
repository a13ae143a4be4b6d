import type { ServerOptions } from './options'

/**
 * Types a `redisse-server --config` module.
 * @example
 * ```ts
 * // redisse.config.ts
 * import { defineConfig } from '@redisse/server'
 * export default defineConfig({ channels: (req) => ['global'] })
 * ```
 */
export function defineConfig(options: ServerOptions): ServerOptions {
  return options
}
