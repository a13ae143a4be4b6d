declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the redis-server the global setup started for this run. */
    redisUrl: string
  }
}

export {}
