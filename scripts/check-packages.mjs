// Checks what users install: each public package's exports map (publint,
// are-the-types-wrong on the packed tarball), and that a CommonJS backend can
// require() the publisher and the server on this Node. Needs `pnpm build` first.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const packages = ['protocol', 'publisher', 'server', 'client']
let failed = 0
let passed = 0

function check(name, fn) {
  try {
    fn()
    passed += 1
    console.log(`ok   ${name}`)
  } catch (err) {
    failed += 1
    console.log(
      `FAIL ${name}\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}${err.message}`,
    )
  }
}

const bin = (name) => join(root, 'node_modules', '.bin', name)
const out = mkdtempSync(join(tmpdir(), 'redisse-pack-'))
try {
  for (const pkg of packages) {
    const dir = join(root, 'packages', pkg)
    check(`@redisse/${pkg}: publint --strict`, () => {
      execFileSync(bin('publint'), ['--strict'], { cwd: dir, stdio: 'pipe' })
    })
    check(`@redisse/${pkg}: attw on the packed tarball`, () => {
      execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: dir, stdio: 'pipe' })
      const tarball = readdirSync(out).find((f) => f.startsWith(`redisse-${pkg}-`))
      execFileSync(bin('attw'), [join(out, tarball), '--format', 'table-flipped'], {
        stdio: 'pipe',
      })
    })
  }
  for (const pkg of ['publisher', 'server', 'protocol']) {
    check(`@redisse/${pkg}: require() from CommonJS on Node ${process.version}`, () => {
      const require = createRequire(join(root, 'packages', pkg, 'package.json'))
      const mod = require(join(root, 'packages', pkg))
      const expected = {
        publisher: 'createPublisher',
        server: 'createServer',
        protocol: 'encodeEvent',
      }[pkg]
      if (typeof mod[expected] !== 'function') throw new Error(`require() gave no ${expected}`)
    })
  }
} finally {
  rmSync(out, { recursive: true, force: true })
}
console.log(`\npackages: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
