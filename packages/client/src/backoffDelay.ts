/**
 * Delay before reconnection attempt `attempt` (1-based): exponential
 * backoff with full jitter, `random() × min(maxDelay, base × 2^(attempt-1))`.
 * Full jitter spreads the reconnections of many clients after a server restart.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelay(
  attempt: number,
  base: number,
  maxDelay: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelay, base * 2 ** Math.max(0, attempt - 1))
  return Math.round(random() * ceiling)
}
