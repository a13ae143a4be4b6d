/**
 * The Redisse client (work in progress). Exports the protocol version it
 * speaks so bundlers and tools can check compatibility.
 * @module
 */

/** Version of the Redisse wire format this client speaks. */
export const PROTOCOL_VERSION = 'redisse/1'
