import { safely } from './safely'

type AnyListener = (first: unknown, second: unknown) => void

/** Listeners by key: event types, and whatever key the owner reserves for itself. */
export interface ListenerRegistry {
  /** Adds a listener of `key`. @returns a function that removes it */
  on<A, B>(key: string, listener: (first: A, second: B) => void): () => void
  /** Calls the listeners of `key`; one that throws stops neither the others nor the caller. */
  emit(key: string, first: unknown, second: unknown): void
  /** Every key listened to so far (a key stays once its listeners are gone). */
  keys(): Iterable<string>
}

/**
 * Creates a registry of listeners by key, for events and state changes
 * alike: one loop, one error path.
 * @param onNewKey - called the first time a key is listened to (the native
 * EventSource needs one listener per event type)
 */
export function createListenerRegistry(onNewKey: (key: string) => void): ListenerRegistry {
  const listeners = new Map<string, Set<AnyListener>>()
  return {
    on(key, listener) {
      let set = listeners.get(key)
      if (!set) {
        set = new Set()
        listeners.set(key, set)
        onNewKey(key)
      }
      set.add(listener as AnyListener)
      return () => {
        set.delete(listener as AnyListener)
      }
    },
    emit(key, first, second) {
      // A copy: a listener may add or remove listeners of its own key.
      for (const listener of [...(listeners.get(key) ?? [])]) safely(listener, first, second)
    },
    keys: () => listeners.keys(),
  }
}
