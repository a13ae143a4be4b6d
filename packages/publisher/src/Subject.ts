/** Options of {@link Subject.generateToken}. */
export interface GenerateTokenOptions {
  /** Lifetime of the token in ms (a positive integer); absent: no expiry. */
  ttl?: number | undefined
}

/**
 * Tokens and channel list of one subject (Sinapse's model): a client that
 * connects with one of the subject's tokens hears the subject's channels,
 * and every edit applies at once to the subject's open streams.
 */
export interface Subject {
  /** The subject id. */
  readonly id: string
  /**
   * Creates a new random token for this subject (256 bits, base64url). Only
   * its SHA-256 is stored: keep the returned string, it cannot be read back.
   * @returns the raw token, to hand to the client (`createClient(url, { token })`)
   */
  generateToken(options?: GenerateTokenOptions): Promise<string>
  /**
   * Adds a channel; the subject's open streams start hearing it at once.
   * @returns true when the channel was not in the list yet
   */
  addChannel(channel: string): Promise<boolean>
  /**
   * Removes a channel; open streams stop hearing it, and end when the list
   * becomes empty.
   * @returns true when the channel was in the list
   */
  removeChannel(channel: string): Promise<boolean>
  /**
   * Revokes one token of this subject: it stops authenticating, and every
   * open stream opened with it ends on every server node (SSE ends, so the
   * client's reconnect gets 401; WebSocket closes with 4001; a waiting poll
   * answers). The subject's other tokens and their streams are untouched.
   * @param token - the raw token {@link generateToken} returned
   * @returns true when the token existed for this subject (false for an
   *   unknown or expired token, or one of another subject, which stays valid)
   * @throws RedisseError `invalid-token` for an empty or over-long token
   */
  revokeToken(token: string): Promise<boolean>
  /** The subject's channels, sorted. */
  channels(): Promise<string[]>
  /** Deletes every token and the channel list of the subject; its open streams end. */
  clear(): Promise<void>
}
