/**
 * The Lua script run by whoever saw the log go backwards (a failover to a
 * replica that lagged: sequences already handed out come again): it
 * replaces the epoch, so that cursors of the lost log can never be taken
 * for places in the new one. Guarded by the epoch that went backwards, so
 * nodes that detect the same regression at once agree on one new epoch.
 *
 * KEYS: 1 epoch, 2 seq
 *
 * ARGV: 1 the epoch that went backwards, 2 the epoch to replace it with
 *
 * Returns `[epoch, seq]` in force after the run: ARGV 2, or the epoch
 * another run already put in its place (`''` when the log is empty).
 * Sequences go on from where they are, so history stays ordered.
 */
export const REPLACE_EPOCH_SCRIPT = `
local epoch = redis.call('GET', KEYS[1])
if epoch == ARGV[1] then
  epoch = ARGV[2]
  redis.call('SET', KEYS[1], epoch)
end
return { epoch or '', redis.call('GET', KEYS[2]) or '0' }
`
