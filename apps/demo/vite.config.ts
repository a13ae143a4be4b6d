import { fileURLToPath } from 'node:url'
import { defaultClientConditions, defineConfig } from 'vite'

// Workspace packages resolve to their `src` (the `@redisse/source` export
// condition), so the demo builds without building the packages first.
export default defineConfig({
  root: fileURLToPath(new URL('./src/web', import.meta.url)),
  resolve: { conditions: ['@redisse/source', ...defaultClientConditions] },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
})
