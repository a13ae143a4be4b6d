/**
 * Paths of the server's HTTP API used by the HTTP publisher. All need
 * `Authorization: Bearer <publish key>`.
 *
 * - `POST /publish` body `{ channel, type, data, idempotencyKey? }` → `{ id }`,
 *   or `{ events: [...] }` → `{ ids: [...] }`
 * - `POST /subjects/:subject/tokens` body `{ ttl? }` (ms) → `{ token }`
 * - `POST /subjects/:subject/tokens/revoke` body `{ token }` → `{ revoked }`
 *   (the raw token goes in the body, never in the path, so it stays out of
 *   access logs)
 * - `GET /subjects/:subject/channels` → `{ channels }`
 * - `PUT /subjects/:subject/channels/:channel` → `{ added }`
 * - `DELETE /subjects/:subject/channels/:channel` → `{ removed }`
 * - `DELETE /subjects/:subject` → `{ cleared: true }`
 *
 * Path segments are `encodeURIComponent`-encoded.
 */
export const HttpPaths = {
  publish: '/publish',
  subjectTokens: (subject: string) => `/subjects/${encodeURIComponent(subject)}/tokens`,
  subjectTokenRevoke: (subject: string) => `/subjects/${encodeURIComponent(subject)}/tokens/revoke`,
  subjectChannels: (subject: string) => `/subjects/${encodeURIComponent(subject)}/channels`,
  subjectChannel: (subject: string, channel: string) =>
    `/subjects/${encodeURIComponent(subject)}/channels/${encodeURIComponent(channel)}`,
  subject: (subject: string) => `/subjects/${encodeURIComponent(subject)}`,
} as const

/** Largest publish payload (the `data` JSON text) accepted by default, in bytes. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024
