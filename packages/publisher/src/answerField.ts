import { RedisseError } from '@redisse/protocol'
import { type Operation, operationText } from './operationText'

interface FieldKinds {
  string: string
  boolean: boolean
  'string[]': string[]
}

const is: { [K in keyof FieldKinds]: (value: unknown) => boolean } = {
  string: (value) => typeof value === 'string',
  boolean: (value) => typeof value === 'boolean',
  'string[]': (value) => Array.isArray(value) && value.every((v) => typeof v === 'string'),
}

/**
 * Reads one field of a server's JSON answer, checking its type.
 * @throws RedisseError (the operation's failure code) when the answer has another shape
 */
export function answerField<K extends keyof FieldKinds>(
  operation: Operation,
  answer: unknown,
  name: string,
  kind: K,
): FieldKinds[K] {
  const value = (answer as Record<string, unknown>)[name]
  if (is[kind](value)) return value as FieldKinds[K]
  const { noun, failure, outcome } = operationText[operation]
  throw new RedisseError(
    failure,
    `unexpected answer to the ${noun}: expected { ${name}: ${kind} }; is url a Redisse server of the same version? ${outcome}`,
  )
}
