import { describe, expect, test } from 'vitest'
import { isClusterOption, isIoredis, isIoredisCluster } from './isIoredis'

const fn = () => undefined
const standalone = { isCluster: false, status: 'wait', duplicate: fn, defineCommand: fn }
const cluster = { isCluster: true, status: 'wait', duplicate: fn, defineCommand: fn }

describe('isIoredis / isIoredisCluster', () => {
  test('tell a standalone client from a cluster client by their shape', () => {
    expect(isIoredis(standalone)).toBe(true)
    expect(isIoredisCluster(standalone)).toBe(false)
    expect(isIoredis(cluster)).toBe(false)
    expect(isIoredisCluster(cluster)).toBe(true)
  })

  test.each([
    ['a URL', 'redis://127.0.0.1:6380'],
    ['ioredis options', { host: '127.0.0.1', port: 6380, keyPrefix: 'x:' }],
    ['null', null],
    ['undefined', undefined],
    ['a number', 6380],
    ['a function', fn],
    ['an object missing defineCommand', { isCluster: false, status: 'wait', duplicate: fn }],
    ['an object whose status is not a string', { ...standalone, status: 1 }],
    ['an object whose isCluster is not a boolean', { ...standalone, isCluster: 'no' }],
  ])('reject %s', (_name, value) => {
    expect(isIoredis(value)).toBe(false)
    expect(isIoredisCluster(value)).toBe(false)
  })
})

describe('isClusterOption', () => {
  test('takes { cluster } options and a cluster client', () => {
    expect(isClusterOption({ cluster: ['redis://127.0.0.1:7000'] })).toBe(true)
    expect(isClusterOption({ cluster: [], partitions: 8 })).toBe(true)
    expect(isClusterOption(cluster)).toBe(true)
  })

  test.each([
    ['a URL', 'redis://127.0.0.1:6380'],
    ['ioredis options', { host: '127.0.0.1', port: 6380 }],
    ['a standalone client (it has a cluster() method)', { ...standalone, cluster: fn }],
    ['undefined', undefined],
  ])('rejects %s', (_name, value) => {
    expect(isClusterOption(value)).toBe(false)
  })
})
