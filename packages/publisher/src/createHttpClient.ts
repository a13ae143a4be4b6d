import { type ErrorCode, ErrorCodes, RedisseError } from '@redisse/protocol'
import { type Operation, operationText } from './operationText'

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Base URL of the server; a path prefix is kept (`http://host/redisse`). */
  url: string
  /** Publish key, sent as `Authorization: Bearer <key>`; never shown in errors. */
  key: string
  fetch?: typeof fetch | undefined
  /** Per-request timeout in ms, answer body included. */
  timeout: number
}

/** Sends authenticated JSON requests to a Redisse server's HTTP API. */
export interface HttpClient {
  /**
   * Sends one request and returns its parsed JSON answer.
   * @param body - JSON text, sent with `Content-Type: application/json`
   * @throws RedisseError with the server's code, message and status for a
   *   non-2xx answer; `broker-unavailable` when the server cannot be reached;
   *   `publish-timeout` after `timeout` ms
   */
  request(
    operation: Operation,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: string,
  ): Promise<unknown>
  /** Makes every later request fail with `closed` (requests under way finish). */
  close(): void
}

/**
 * Codes for error answers without a Redisse error body (from a proxy, say):
 * a Redisse server always names a specific code, and `invalid-request` is
 * left as the generic one for a bare 400.
 */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'invalid-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  503: 'broker-unavailable',
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value)
}

/** The most telling part of a fetch failure (undici hides the socket error in `cause`). */
function reasonOf(err: unknown): string {
  const inner = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  if (typeof inner?.code === 'string') return inner.code
  if (typeof inner?.message === 'string') return inner.message
  return err instanceof Error ? err.message : String(err)
}

/** The base URL without credentials, query or trailing slash (fetch refuses credentials in URLs). */
function baseOf(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RedisseError(
      'invalid-option',
      'url must be an absolute http(s) URL, e.g. http://localhost:4242',
    )
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RedisseError(
      'invalid-option',
      `url must use http or https, got ${parsed.protocol}: e.g. http://localhost:4242`,
    )
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '')
}

/**
 * Creates the HTTP client of the HTTP transport. Paths are appended to the
 * base URL as given (build them with protocol's `HttpPaths`).
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = baseOf(options.url)
  const { key, timeout } = options
  if (typeof key !== 'string' || key === '') {
    throw new RedisseError(
      'invalid-option',
      'key must be the server publish key (publishKey / --publish-key)',
    )
  }
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const hideKey = (text: string) => text.replaceAll(key, '[publish key]')
  let closed = false

  return {
    async request(operation, method, path, body) {
      if (closed) throw new RedisseError('closed', 'the publisher is closed: create a new one')
      const { noun, failure, outcome } = operationText[operation]
      const signal = AbortSignal.timeout(timeout)
      const headers: Record<string, string> = {
        authorization: `Bearer ${key}`,
        accept: 'application/json',
      }
      if (body !== undefined) headers['content-type'] = 'application/json'
      let status: number
      let text: string
      try {
        const res = await doFetch(base + path, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal,
        })
        status = res.status
        text = await res.text()
      } catch (cause) {
        if (signal.aborted) {
          throw new RedisseError(
            'publish-timeout',
            `no answer from the Redisse server at ${base} within ${timeout} ms (timeout): ${outcome}`,
            { cause },
          )
        }
        throw new RedisseError(
          'broker-unavailable',
          `cannot reach the Redisse server at ${base} (${hideKey(reasonOf(cause))}): check the url option and that the server runs; if the ${noun} was already sent, ${outcome}`,
          { cause },
        )
      }
      let answer: unknown
      try {
        answer = text === '' ? undefined : JSON.parse(text)
      } catch {
        answer = undefined
      }
      if (status < 200 || status > 299) {
        const error = (answer as { error?: { code?: unknown; message?: unknown } } | undefined)
          ?.error
        if (error && isErrorCode(error.code) && typeof error.message === 'string') {
          throw new RedisseError(error.code, hideKey(error.message), { status })
        }
        throw new RedisseError(
          CODE_OF_STATUS[status] ?? failure,
          `HTTP ${status} from ${base}${path}, without a Redisse error body: check the url option (is a proxy answering?)`,
          { status },
        )
      }
      if (answer === null || typeof answer !== 'object') {
        throw new RedisseError(
          failure,
          `unexpected answer to the ${noun} from ${base}${path} (HTTP ${status}, not a JSON object): is url a Redisse server? ${outcome}`,
          { status },
        )
      }
      return answer
    },
    close() {
      closed = true
    },
  }
}
