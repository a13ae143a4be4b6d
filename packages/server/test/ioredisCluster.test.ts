import { describe, expect, it } from 'vitest'
import { createServer } from '../src/index'

describe('redis: { cluster } options that name no cluster', () => {
  it.each([
    { what: 'an empty node list', redis: { cluster: [] } },
    { what: 'a node that is not a redis:// URL', redis: { cluster: ['http://127.0.0.1:1'] } },
    { what: 'no partitions', redis: { cluster: ['redis://127.0.0.1:1'], partitions: 0 } },
    {
      what: 'more than 16 partitions',
      redis: { cluster: ['redis://127.0.0.1:1'], partitions: 17 },
    },
  ])('refuses $what with invalid-option at createServer, dialling nothing', ({ redis }) => {
    expect(() => createServer({ public: true, logger: 'silent', redis: redis as never })).toThrow(
      expect.objectContaining({ code: 'invalid-option' }),
    )
  })
})
