/**
 * Shared test helpers for Redisse packages: a real `redis-server` on a free
 * port, an SSE reader over raw `node:http`, chunking of byte fixtures, and
 * a per-test list of undos that closes everything a test started.
 * @module
 */
import './providedContext'

export { chunkAt, randomChunks } from './chunks'
export { cleanupAfterEach } from './cleanupAfterEach'
export { freePort } from './freePort'
export { isAlive } from './isAlive'
export { makeTlsCertificate } from './makeTlsCertificate'
export { type OpenSseOptions, openSse, type SseEvent, type SseStream } from './openSse'
export { type OpenWsOptions, openWs, type WsFrame, type WsStream } from './openWs'
export {
  CORRUPT_PARTITIONS_RECORDS,
  type PartitionsRecord,
  partitionsRecordRefusalFaults,
  plantPartitionsRecord,
} from './plantPartitionsRecord'
export { spawnCliFromSource } from './spawnCliFromSource'
export {
  CHUNKINGS,
  type Chunking,
  type ConformanceRequest,
  type ConformanceServer,
  END_EVENT,
  type ExpectedEvent,
  PARSING_FIXTURES,
  type ParsingFixture,
  startConformanceServer,
} from './sseConformance'
export { findRabbitServer, type RabbitProcess, startRabbit } from './startRabbit'
export { type RedisProcess, startRedis, type TlsFiles } from './startRedis'
export { type ClusterNode, type RedisClusterProcess, startRedisCluster } from './startRedisCluster'
export { type SentinelProcess, startSentinel } from './startSentinel'
export { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './startTcpProxy'
export { uniquePrefix } from './uniquePrefix'
export { waitFor } from './waitFor'
