import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
}

/**
 * Serves the built frontend from `root`; unknown paths get `index.html` (the
 * page reads its state from the query string, not the path).
 */
export function serveStatic(root: string) {
  // With the separator: `/srv/web` must not admit `/srv/web-evil/…`.
  const base = resolve(root) + sep
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let path: string
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('malformed %-encoding in the path\n')
      return
    }
    const file = normalize(join(base, path))
    const inside = file.startsWith(base) && !path.endsWith('/')
    const body = inside ? await readFile(file).catch(() => undefined) : undefined
    if (body) {
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': path.startsWith('/assets/')
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      })
      res.end(body)
      return
    }
    const index = await readFile(join(root, 'index.html')).catch(() => undefined)
    if (!index) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(
        'The frontend is not built: run `pnpm --filter @redisse/demo build` (pnpm demo does it).\n',
      )
      return
    }
    res.writeHead(200, {
      'Content-Type': TYPES['.html'] ?? 'text/html',
      'Cache-Control': 'no-cache',
    })
    res.end(index)
  }
}
