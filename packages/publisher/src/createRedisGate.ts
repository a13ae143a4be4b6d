import { isRedisseError, parseScriptError, RedisseError } from '@redisse/protocol'
import { createOfflineQueue } from './createOfflineQueue'
import { type Operation, operationText } from './operationText'

/** What the gate needs of an ioredis client (a fake one in unit tests). */
export interface GateClient {
  readonly status: string
  on(event: 'ready' | 'close' | 'end', listener: () => void): unknown
  off(event: 'ready' | 'close' | 'end', listener: () => void): unknown
  connect(): Promise<unknown>
}

/** Runs Redis operations only while the connection is ready. */
export interface RedisGate {
  /**
   * Runs `command` now when the connection is ready, else once it comes back
   * (bounded queue, bounded wait), and turns every failure into a
   * RedisseError. `command` is called synchronously when the gate opens, so
   * operations reach Redis in call order.
   */
  run<T>(operation: Operation, command: () => Promise<T>): Promise<T>
  /** Fails waiting operations with `closed` and stops listening to the client. */
  close(): void
}

/** Options of {@link createRedisGate}. */
export interface RedisGateOptions {
  /** Longest wait in the queue, and longest wait for an answer once sent, in ms. */
  publishTimeout: number
  /** Most operations waiting at once. */
  maxQueued: number
  /**
   * Fail operations in flight as soon as the connection closes. Right only
   * when the client will not resend them after reconnecting
   * (`autoResendUnfulfilledCommands: false`); otherwise their answer (or
   * the publishTimeout) decides.
   */
  failInFlightOnClose: boolean
  /** The last connection error, attached as `cause` to timeouts. */
  lastError?: () => unknown
}

const withCause = (cause: unknown) => (cause === undefined ? undefined : { cause })

const closedError = () =>
  new RedisseError('closed', 'the publisher is closed (close() was called): create a new one')

const endedError = () =>
  new RedisseError(
    'broker-unavailable',
    'the Redis connection was ended (quit or disconnect) and will not come back: nothing was sent; pass an open connection',
  )

/**
 * True for ioredis refusing to write because the connection just died (its
 * status still said ready): the command never left this process.
 */
const isUnsent = (err: unknown) =>
  err instanceof Error && err.message.includes("Stream isn't writeable")

/** Stands for "not sent, wait for the connection" between `send` and `run`. */
const UNSENT = new Error('not sent')

/** Maps an error of ioredis for an operation that was (maybe) sent. */
function sendFailure(operation: Operation, err: unknown): RedisseError {
  if (isRedisseError(err)) return err
  const { noun, failure, outcome } = operationText[operation]
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof Error && err.name === 'ReplyError') {
    // The publish script's own refusals carry a Redisse code: keep it.
    const refusal = parseScriptError(message)
    if (refusal) {
      return new RedisseError(
        refusal.code,
        `the publish script refused the event: ${refusal.reason}`,
        {
          cause: err,
        },
      )
    }
    return new RedisseError(failure, `Redis refused the ${noun}: ${message}`, { cause: err })
  }
  return new RedisseError(
    failure,
    `the connection to Redis failed after the ${noun} was sent: ${outcome}`,
    { cause: err },
  )
}

/**
 * Creates the gate between a publisher and its ioredis client, which has no
 * offline queue of its own (or is used as if it had none): while the
 * client's status is not `ready`, operations wait here, at most `maxQueued`
 * of them and each at most `publishTimeout` ms, and go out in order on
 * `ready`. An operation that timed out in the queue is never sent later.
 */
export function createRedisGate(client: GateClient, options: RedisGateOptions): RedisGate {
  const { publishTimeout, maxQueued } = options
  const lastError = options.lastError ?? (() => undefined)
  const queue = createOfflineQueue({
    max: maxQueued,
    full: () =>
      new RedisseError(
        'broker-unavailable',
        `Redis is unreachable and ${maxQueued} operations already wait for it (maxQueued): nothing was sent; retry later`,
        withCause(lastError()),
      ),
  })
  const timedOut = () =>
    new RedisseError(
      'publish-timeout',
      `Redis stayed unreachable for ${publishTimeout} ms (publishTimeout): nothing was sent and nothing will be; retry later, or raise publishTimeout`,
      withCause(lastError()),
    )
  // Operations sent and not answered yet, each by the function that fails it.
  const inFlight = new Set<() => void>()
  let closed = false
  let tickets = 0

  const onReady = () => queue.release()
  const onClose = () => {
    if (options.failInFlightOnClose) for (const fail of [...inFlight]) fail()
  }
  const onEnd = () => queue.rejectAll(endedError())
  client.on('ready', onReady)
  client.on('close', onClose)
  client.on('end', onEnd)

  const send = <T>(operation: Operation, command: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const { noun, failure, outcome } = operationText[operation]
      const done = () => {
        clearTimeout(timer)
        inFlight.delete(fail)
      }
      const fail = () => {
        done()
        reject(
          new RedisseError(
            failure,
            `the connection to Redis was lost after the ${noun} was sent: ${outcome}`,
            withCause(lastError()),
          ),
        )
      }
      const timer = setTimeout(() => {
        done()
        reject(
          new RedisseError(
            failure,
            `Redis did not answer within ${publishTimeout} ms (publishTimeout) after the ${noun} was sent: ${outcome}`,
          ),
        )
      }, publishTimeout)
      inFlight.add(fail)
      // A promise settles once: whatever comes after a timeout or a lost connection is ignored.
      try {
        command().then(
          (value) => {
            done()
            resolve(value)
          },
          (err: unknown) => {
            done()
            reject(isUnsent(err) ? UNSENT : sendFailure(operation, err))
          },
        )
      } catch (err) {
        done()
        reject(isUnsent(err) ? UNSENT : sendFailure(operation, err))
      }
    })

  return {
    async run(operation, command) {
      const ticket = tickets++
      const deadline = Date.now() + publishTimeout
      let unsent = false
      for (;;) {
        // Wait while the connection is down, and also while earlier operations
        // still wait (between `ready` and our listener), so none is overtaken.
        while (unsent || client.status !== 'ready' || queue.size > 0) {
          if (closed) throw closedError()
          if (client.status === 'end') throw endedError()
          // A lazyConnect instance connects on its first command: this is it.
          if (client.status === 'wait') client.connect().catch(() => {})
          unsent = false
          await queue.wait(ticket, Math.max(0, deadline - Date.now()), timedOut)
          if (client.status === 'ready') break
        }
        if (closed) throw closedError()
        try {
          return await send(operation, command)
        } catch (err) {
          if (err !== UNSENT) throw err
          // The connection died under a ready status: wait for `ready` again.
          unsent = true
        }
      }
    },
    close() {
      if (closed) return
      closed = true
      client.off('ready', onReady)
      client.off('close', onClose)
      client.off('end', onEnd)
      queue.rejectAll(
        new RedisseError(
          'closed',
          'the publisher was closed before Redis came back: nothing was sent',
        ),
      )
    },
  }
}
