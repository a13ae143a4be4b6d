// What a user gets from the packed packages, outside the workspace: packs the
// four public packages (their `prepack` builds them), installs the tarballs
// with npm into a scratch project under the OS temp dir, then there
//  - runs the README's "Backend and client in one file" block, as ESM and as
//    CommonJS, against a redis-server started here on a free port;
//  - compiles a consumer TypeScript project with `skipLibCheck: false`
//    (the README's typed `req.user`, all four packages' types);
//  - runs the installed `redisse-server` with a `.ts` config.
// Dependencies of the tarballs (ioredis, ws, express, typescript…) come from
// the npm registry (or npm's cache).
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const packages = ['protocol', 'publisher', 'server', 'client']
const started = Date.now()
let failed = 0
let passed = 0
const children = []

async function check(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    passed += 1
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  } catch (err) {
    failed += 1
    console.log(
      `FAIL ${name}\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}${err.message}`,
    )
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

/** Runs a command to its end within `timeout` ms; resolves with its exit code and output. */
function run(cmd, args, options = {}) {
  const { timeout = 60_000, ...rest } = options
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...rest })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
  })
}

/** The code block right after `<!-- check-install: NAME -->` in the README. */
function readmeBlock(name) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const marker = `<!-- check-install: ${name} -->`
  const at = readme.indexOf(marker)
  if (at < 0) throw new Error(`README.md has no ${marker}`)
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at))
  if (!block) throw new Error(`no code block after ${marker}`)
  return block[1]
}

/** The same module as CommonJS: require() instead of import, top-level await in an async main. */
function toCommonJs(esm) {
  const lines = esm.split('\n')
  const requires = []
  const body = []
  for (const line of lines) {
    const named = /^import \{ (.+) \} from '(.+)'$/.exec(line)
    const plain = /^import (\w+) from '(.+)'$/.exec(line)
    if (named) requires.push(`const { ${named[1]} } = require('${named[2]}')`)
    else if (plain) requires.push(`const ${plain[1]} = require('${plain[2]}')`)
    else body.push(line)
  }
  return `'use strict'\n${requires.join('\n')}\n;(async () => {\n${body.join('\n')}\n})().catch((err) => {\n  console.error(err)\n  process.exit(1)\n})\n`
}

async function startRedis() {
  const port = await freePort()
  const child = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.push(child)
  await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('Ready to accept connections')) resolve()
    })
    child.on('exit', () => reject(new Error(`redis-server exited: ${out}`)))
    setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
  })
  return `redis://127.0.0.1:${port}`
}

const scratch = mkdtempSync(join(tmpdir(), 'redisse-install-'))
const tarballs = join(scratch, 'tarballs')
const app = join(scratch, 'app')
mkdirSync(tarballs)
mkdirSync(app)
try {
  await check('pack the four packages (prepack builds each)', async () => {
    for (const pkg of packages) {
      execFileSync('pnpm', ['pack', '--pack-destination', tarballs], {
        cwd: join(root, 'packages', pkg),
        stdio: 'pipe',
      })
    }
    const files = readdirSync(tarballs)
    for (const pkg of packages) {
      const file = files.find((f) => f.startsWith(`redisse-${pkg}-`))
      if (!file) throw new Error(`no tarball for ${pkg}`)
      const listing = execFileSync('tar', ['-tzf', join(tarballs, file)]).toString()
      if (!listing.includes('package/dist/index.js'))
        throw new Error(`${file} has no dist/index.js`)
    }
  })

  await check('npm install the tarballs into a scratch project outside the workspace', async () => {
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'redisse-scratch', private: true, type: 'module' }, null, 2)}\n`,
    )
    const files = readdirSync(tarballs).map((f) => join(tarballs, f))
    execFileSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        ...files,
        'express@5',
        'typescript@5.9.3',
        '@types/node@22',
        '@types/express@5',
        'prom-client@15',
      ],
      { cwd: app, stdio: 'pipe', timeout: 300_000 },
    )
  })

  const redis = await startRedis()
  const example = readmeBlock('example.mjs')
  writeFileSync(join(app, 'example.mjs'), example)
  writeFileSync(join(app, 'example.cjs'), toCommonJs(example))
  for (const file of ['example.mjs', 'example.cjs']) {
    await check(`the README example runs from the tarballs: ${file}`, async () => {
      const result = await run(process.execPath, [file], {
        cwd: app,
        env: { ...process.env, REDIS_URL: redis, PORT: String(await freePort()) },
        timeout: 20_000,
      })
      const expected = 'received {"text":"It works!"} on news'
      if (result.code !== 0 || !result.output.includes(expected)) {
        throw new Error(
          `exit ${result.code ?? result.signal}, wanted "${expected}":\n${result.output}`,
        )
      }
    })
  }

  await check('a consumer TypeScript project compiles with skipLibCheck: false', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      `${JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            skipLibCheck: false,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            noEmit: true,
            types: ['node'],
          },
          include: ['typed.ts', 'all-packages.ts'],
        },
        null,
        2,
      )}\n`,
    )
    writeFileSync(join(app, 'typed.ts'), readmeBlock('typed.ts'))
    // Every package's types, used the typed way: one Events map for publisher and client.
    writeFileSync(
      join(app, 'all-packages.ts'),
      [
        "import { createClient } from '@redisse/client'",
        "import { validateChannel } from '@redisse/protocol'",
        "import { createPublisher } from '@redisse/publisher'",
        "import { createServer, defineConfig } from '@redisse/server'",
        'type Events = { message: { user: string; text: string } }',
        "const pub = createPublisher<Events>({ redis: 'redis://127.0.0.1:6379' })",
        "void pub.publish(validateChannel('room:1'), 'message', { user: 'ann', text: 'hi' })",
        "const client = createClient<Events>('http://127.0.0.1:4242/', { transport: 'poll' })",
        "client.on('message', (msg, meta) => console.log(msg.text.toUpperCase(), meta.channel))",
        "export const config = defineConfig({ public: ['news'], websocket: { perMessageDeflate: { threshold: 1024 } } })",
        'export const server = createServer(config)',
        '',
      ].join('\n'),
    )
    execFileSync(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: app, stdio: 'pipe' })
  })

  await check(`redisse-server --config cfg.ts on Node ${process.version}`, async () => {
    writeFileSync(
      join(app, 'cfg.ts'),
      "import { defineConfig } from '@redisse/server'\nconst channels: string[] = ['from-ts']\nexport default defineConfig({ channels: () => channels })\n",
    )
    const port = await freePort()
    const bin = join(app, 'node_modules', '.bin', 'redisse-server')
    const stripping = ['strip', 'transform'].includes(process.features.typescript)
    const child = spawn(
      process.execPath,
      [bin, '--config', 'cfg.ts', '--port', String(port), '--host', '127.0.0.1'],
      { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    children.push(child)
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 15_000)
      child.on('exit', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
      child.stdout.on('data', () => {
        if (output.includes('listening')) {
          clearTimeout(timer)
          resolve('listening')
        }
      })
    })
    if (stripping) {
      if (code !== 'listening' || !output.includes('"access":"callback"')) {
        throw new Error(`wanted it to listen with the config's channels, got ${code}:\n${output}`)
      }
      child.kill('SIGTERM')
    } else if (
      code !== 2 ||
      output.trim().split('\n').length !== 1 ||
      !output.includes('a TypeScript config needs Node ≥ 22.18')
    ) {
      throw new Error(
        `wanted one line refusing the .ts config with code 2, got ${code}:\n${output}`,
      )
    }
  })
  await check(
    "metrics: { registry } puts the /metrics series into the app's prom-client registry",
    async () => {
      writeFileSync(
        join(app, 'metrics.mjs'),
        [
          "import { createServer } from '@redisse/server'",
          "import { collectDefaultMetrics, Registry } from 'prom-client'",
          'const registry = new Registry()',
          'collectDefaultMetrics({ register: registry })',
          "const server = createServer({ public: true, logger: 'silent', metrics: { registry } })",
          'const during = await registry.metrics()',
          'await server.close()',
          'const after = await registry.metrics()',
          'console.log(JSON.stringify({ during, after }))',
          '',
        ].join('\n'),
      )
      const result = await run(process.execPath, ['metrics.mjs'], { cwd: app, timeout: 15_000 })
      if (result.code !== 0) throw new Error(`exit ${result.code}:\n${result.output}`)
      const { during, after } = JSON.parse(result.output.trim().split('\n').at(-1))
      for (const wanted of [
        '# TYPE redisse_connections gauge\nredisse_connections 0\n',
        'redisse_transport_connections{transport="sse"} 0',
        'process_cpu_user_seconds_total',
      ]) {
        if (!during.includes(wanted)) throw new Error(`registry output lacks ${wanted}:\n${during}`)
      }
      if (after.includes('redisse_'))
        throw new Error('redisse_ series left in the registry after close()')
    },
  )

  await check(
    'amqplib is optional: not installed, the server runs; --amqp says what to install',
    async () => {
      const bin = join(app, 'node_modules', '.bin', 'redisse-server')
      const installed = readdirSync(join(app, 'node_modules'))
      if (installed.includes('amqplib'))
        throw new Error('amqplib was installed with @redisse/server')
      const result = await run(
        process.execPath,
        [bin, '--amqp', 'amqp://127.0.0.1:1', '--port', '0'],
        {
          cwd: app,
          timeout: 15_000,
        },
      )
      const expected =
        'redisse-server: the amqp option (--amqp) needs the amqplib package: npm install amqplib (see redisse-server --help)'
      if (result.code !== 2 || result.output.trim() !== expected) {
        throw new Error(`wanted "${expected}" with code 2, got ${result.code}:\n${result.output}`)
      }
    },
  )
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
}
const seconds = ((Date.now() - started) / 1000).toFixed(1)
console.log(
  `\ninstall: ${passed} passed, ${failed} failed in ${seconds} s (Node ${process.version})`,
)
process.exit(failed ? 1 : 0)
