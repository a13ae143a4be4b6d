import { describe, expect, test } from 'vitest'
import { globToRegExp } from './globToRegExp'

function table(star: 'any' | 'segment', cases: Array<[string, string, boolean]>) {
  return cases.map(([glob, channel]) => [glob, channel, globToRegExp(glob, { star }).test(channel)])
}

describe('globToRegExp', () => {
  test("reads * as any run of characters by default (history rules' glob)", () => {
    const cases: Array<[string, string, boolean]> = [
      ['typing:*', 'typing:42', true],
      ['typing:*', 'typing:42:x', true],
      ['typing:*', 'typing:', true],
      ['typing:*', 'typing', false],
      ['*', '', true],
      ['a*b*c', 'abc', true],
      ['a*b*c', 'a:b:c:d', false],
      ['room:42', 'room:42', true],
      ['room:42', 'room:420', false],
      ['user.*', 'userAx', false],
      ['a+b', 'aab', false],
      ['a+b', 'a+b', true],
      ['(a|b)', 'a', false],
      ['(a|b)', '(a|b)', true],
      ['[ab]', '[ab]', true],
      ['$^\\', '$^\\', true],
      ['**', 'a:b', true],
    ]
    expect(table('any', cases)).toEqual(cases)
    expect(globToRegExp('x*').test('x:y')).toBe(true)
  })

  test("with star 'segment', keeps * within one segment and lets ** cross them", () => {
    const cases: Array<[string, string, boolean]> = [
      ['room:*', 'room:42', true],
      ['room:*', 'room:', true],
      ['room:*', 'room:42:private', false],
      ['room:**', 'room:42:private', true],
      ['*:public', 'a:b:public', false],
      ['**:public', 'a:b:public', true],
      ['a*b', 'a:b', false],
      ['a**b', 'a:b', true],
      ['user.*', 'userAx', false],
    ]
    expect(table('segment', cases)).toEqual(cases)
  })
})
