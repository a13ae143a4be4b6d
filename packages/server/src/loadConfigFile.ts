import { createRequire } from 'node:module'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { RedisseError } from '@redisse/protocol'
import type { ServerOptions } from './options'

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts'])

/**
 * Loads a `--config` module and returns its default export. `.js`, `.mjs`
 * and `.cjs` load as they are; `.ts`, `.mts` and `.cts` load through Node's
 * own type stripping (Node ≥ 22.18, or any Node running with a TypeScript
 * loader), else through `tsx` when the config's project has it installed,
 * else they are refused with a message saying what works.
 */
export async function loadConfigFile(file: string): Promise<ServerOptions> {
  const path = resolve(file)
  const url = pathToFileURL(path).href
  if (TYPESCRIPT.has(extname(path)) && !canImportTypeScript()) {
    const tsx = findTsx(path)
    if (!tsx) {
      throw new RedisseError(
        'invalid-option',
        `--config ${file}: a TypeScript config needs Node ≥ 22.18 (built-in type stripping) or tsx in the project (npm install -D tsx); on this Node ${process.version}, write it as .mjs or .js instead`,
      )
    }
    const api = (await import(pathToFileURL(tsx).href)) as {
      tsImport: (u: string, p: string) => Promise<unknown>
    }
    return defaultExport(await api.tsImport(url, import.meta.url), file)
  }
  return defaultExport(await import(url), file)
}

function canImportTypeScript(): boolean {
  // `process.features.typescript` is 'strip' or 'transform' when Node itself
  // strips types; a loader such as tsx registers `.ts` in the hooks instead.
  const feature = (process.features as { typescript?: unknown }).typescript
  if (feature === 'strip' || feature === 'transform') return true
  return process.execArgv.some((arg) => /tsx|ts-node|experimental-strip-types/.test(arg))
}

function findTsx(configPath: string): string | undefined {
  try {
    return createRequire(configPath).resolve('tsx/esm/api')
  } catch {
    return undefined
  }
}

function defaultExport(mod: unknown, file: string): ServerOptions {
  const value = (mod as { default?: unknown }).default
  // A CommonJS config seen through ESM nests its export one level deeper.
  const options =
    value && typeof value === 'object' && 'default' in value
      ? (value as { default: unknown }).default
      : value
  if (!options || typeof options !== 'object') {
    throw new RedisseError(
      'invalid-option',
      `--config ${file} has no default export of options (export default defineConfig({ … }))`,
    )
  }
  return options as ServerOptions
}
