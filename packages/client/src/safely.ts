/** Listener errors surface like EventTarget's, without stopping other listeners or the client. */
export const safely = <A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A) => {
  try {
    fn?.(...args)
  } catch (error) {
    setTimeout(() => {
      throw error
    })
  }
}
