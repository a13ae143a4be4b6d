import { defineConfig, type Options } from 'tsup'

// The protocol is bundled from its source modules so only the pieces the
// client uses ship (its single-file dist keeps the publish script and other
// top-level values bundlers cannot drop).
const protocolFromSource: Options['esbuildOptions'] = (options) => {
  options.conditions = ['@redisse/source']
}

export default defineConfig([
  {
    // Two entries: `index` (transports by name) and `core` (transport objects,
    // tree-shakeable). eventsource-parser stays external for bundlers to share.
    entry: { index: 'src/index.ts', core: 'src/core.ts' },
    noExternal: ['@redisse/protocol'],
    esbuildOptions: protocolFromSource,
    format: ['esm', 'cjs'],
    dts: true,
    clean: false,
    sourcemap: true,
    target: 'es2022',
    platform: 'neutral',
  },
  {
    // Script-tag build: everything bundled, global `Redisse`.
    entry: { redisse: 'src/index.ts' },
    format: ['iife'],
    globalName: 'Redisse',
    minify: true,
    noExternal: [/.*/],
    esbuildOptions: protocolFromSource,
    clean: false,
    sourcemap: true,
    target: 'es2022',
    platform: 'browser',
  },
])
