/** User names: what a person types on the welcome screen, and a channel-safe id. */
export const USER_NAME = /^[A-Za-z0-9_-]{1,20}$/

/** Room ids are slugs of their names (channel-safe). */
export const ROOM_ID = /^[a-z0-9-]{1,30}$/

/** Largest message, in characters. */
export const MAX_MESSAGE_LENGTH = 2000

/** The id of a room called `name`: lower case, runs of other characters turned into `-`. */
export function roomIdOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30)
}
