import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { clientAddressOf } from './clientAddressOf'

const req = (peer: string, xff?: string | string[]) =>
  ({
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  }) as unknown as IncomingMessage

describe('clientAddressOf', () => {
  it('is the socket peer without trustProxy, whatever X-Forwarded-For says', () => {
    expect(clientAddressOf(req('::ffff:127.0.0.1', '1.2.3.4'), false)).toBe('127.0.0.1')
  })

  it('is the left-most X-Forwarded-For entry with trustProxy: true', () => {
    expect(clientAddressOf(req('10.0.0.2', ' 1.2.3.4 , 10.0.0.3'), true)).toBe('1.2.3.4')
    expect(clientAddressOf(req('10.0.0.2', ', ,'), true)).toBe('10.0.0.2')
  })

  it('walks X-Forwarded-For from the right past listed proxies only', () => {
    const proxies = ['10.0.0.2', '10.0.0.3']
    expect(clientAddressOf(req('10.0.0.2', '6.6.6.6, 1.2.3.4, 10.0.0.3'), proxies)).toBe('1.2.3.4')
    expect(clientAddressOf(req('10.0.0.2', ['6.6.6.6', '1.2.3.4']), proxies)).toBe('1.2.3.4')
    expect(clientAddressOf(req('10.0.0.9', '1.2.3.4'), proxies)).toBe('10.0.0.9')
    expect(clientAddressOf(req('10.0.0.2', '10.0.0.3'), proxies)).toBe('10.0.0.3')
  })
})
