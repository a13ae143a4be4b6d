import { globToRegExp, PUBLISH_SCRIPT } from '@redisse/protocol'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

/**
 * The publish script picks a channel's history rule with its own Lua copy
 * of the glob; it must read every pattern exactly as `globToRegExp` does.
 * The matcher is cut out of the script as shipped and run by EVAL on the
 * test run's redis-server.
 */
function luaMatcher(): string {
  const start = PUBLISH_SCRIPT.indexOf('local function matchGlob(')
  const end = PUBLISH_SCRIPT.indexOf('\nend\n', start)
  expect(start, 'matchGlob in PUBLISH_SCRIPT').toBeGreaterThanOrEqual(0)
  expect(end, 'end of matchGlob').toBeGreaterThan(start)
  return PUBLISH_SCRIPT.slice(start, end + '\nend\n'.length)
}

const patterns = [
  'room:42',
  'room:*',
  '*',
  '**',
  '***',
  '*:*',
  'a*b*c',
  ':*:',
  '::',
  '',
  // Lua and RegExp magic characters, both sides must read them literally.
  'user.*',
  'a+b',
  'a-b',
  'a-*',
  'a?b',
  '%d',
  '%*',
  '.*',
  '(a)',
  '[ab]',
  'a]',
  '^a$',
  'x/y=z@w',
]
const channels = [
  'room:42',
  'room:420',
  'room:',
  'room:42:private',
  'room',
  '',
  ':',
  '::',
  ':x:',
  'a:b:c',
  'abc',
  'ab',
  'user.x',
  'userAx',
  'a+b',
  'aab',
  'a-b',
  'a-',
  'ab-',
  'a?b',
  'a',
  '%d',
  '7',
  '%x',
  '.x',
  'Ax',
  '(a)',
  'a]',
  '[ab]',
  '^a$',
  'x/y=z@w',
]

let redis: Redis
beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterAll(() => redis.disconnect())

describe("the publish script's history-rule glob", () => {
  it('matches every pattern x channel of the table exactly as globToRegExp does', async () => {
    const script = `${luaMatcher()}
local out = {}
for i = 1, #KEYS do
  for j = 1, #ARGV do
    out[#out + 1] = matchGlob(KEYS[i], ARGV[j]) and 1 or 0
  end
end
return out`
    const lua = (await redis.eval(script, patterns.length, ...patterns, ...channels)) as number[]
    const got: string[] = []
    const want: string[] = []
    patterns.forEach((pattern, i) => {
      channels.forEach((channel, j) => {
        const expected = globToRegExp(pattern).test(channel)
        want.push(`${JSON.stringify(pattern)} ~ ${JSON.stringify(channel)}: ${expected}`)
        got.push(
          `${JSON.stringify(pattern)} ~ ${JSON.stringify(channel)}: ${lua[i * channels.length + j] === 1}`,
        )
      })
    })
    expect(got).toEqual(want)
    // The table is not vacuous: both answers occur.
    expect(want.some((line) => line.endsWith('true'))).toBe(true)
    expect(want.some((line) => line.endsWith('false'))).toBe(true)
  })
})
