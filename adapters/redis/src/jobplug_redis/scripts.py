"""The Lua scripts. Each runs atomically and touches only keys passed in KEYS, so with a
hash-tagged namespace every script is legal on Redis Cluster.

Lock accounting follows gocraft/work: every fetch does ``INCR <ns>jobs:<n>:lock`` and
``HINCRBY <ns>jobs:<n>:lock_info <pool> 1``, every finish the reverse. Unlike gocraft's
``MULTI`` finish, ours only touches the counters when ``LREM`` really removed the job, so
a finish retried after a lost reply (or racing a reaper) never makes the counters drift.
"""

from __future__ import annotations

#: Batched fetch. KEYS: 6 per job type (jobs, inprogress, paused, lock, lock_info,
#: max_concurrency) in sampled priority order. ARGV: pool id, max jobs, then one quota per
#: type. First pass takes up to each quota, the second fills what is left in order.
#: Returns {flat {raw, type index, ...}, {state per type}}; state 0 = empty, 1 = paused,
#: 2 = at max concurrency, 3 = jobs left, 4 = took some, 5 = one of its keys has the wrong
#: type (another job type's list sits there: a job named ``<name>:lock``, say). A type in
#: state 5 is skipped, so one bad key never stops fetching for the others.
FETCH = """
local pool = ARGV[1]
local want = tonumber(ARGV[2])
local ntypes = #KEYS / 6
local out = {}
local states = {}
local taken = 0
local function is(key, kind)
  local t = redis.call('type', key)['ok']
  return t == 'none' or t == kind
end
local function take(g, limit)
  local b = (g - 1) * 6
  local n = redis.pcall('llen', KEYS[b + 1])
  if type(n) ~= 'number' then states[g] = 5 return end
  if n == 0 then states[g] = 0 return end
  local paused = redis.call('type', KEYS[b + 3])['ok']
  if paused == 'string' then states[g] = 1 return end
  if paused ~= 'none' or not (is(KEYS[b + 4], 'string') and is(KEYS[b + 5], 'hash')
      and is(KEYS[b + 6], 'string')) then
    states[g] = 5 return
  end
  local maxc = tonumber(redis.call('get', KEYS[b + 6]))
  if maxc and maxc > 0 then
    local room = maxc - (tonumber(redis.call('get', KEYS[b + 4])) or 0)
    if room <= 0 then states[g] = 2 return end
    if room < n then n = room end
  end
  if limit < n then n = limit end
  if n <= 0 then states[g] = 3 return end
  redis.call('incrby', KEYS[b + 4], n)
  redis.call('hincrby', KEYS[b + 5], pool, n)
  for i = 1, n do
    out[#out + 1] = redis.call('rpoplpush', KEYS[b + 1], KEYS[b + 2])
    out[#out + 1] = g
  end
  taken = taken + n
  states[g] = 4
end
for g = 1, ntypes do
  if taken >= want then break end
  local quota = tonumber(ARGV[2 + g])
  if quota > 0 then take(g, math.min(quota, want - taken)) end
end
for g = 1, ntypes do
  if taken >= want then break end
  if states[g] == nil or states[g] == 4 then take(g, want - taken) end
end
for g = 1, ntypes do
  if states[g] == nil then states[g] = 3 end
end
return {out, states}
"""

#: Batched finish (ack). KEYS: 3 per job type (inprogress, lock, lock_info). ARGV: pool
#: id, then per type a count followed by that many raw jobs. Returns how many were removed.
FINISH = """
local pool = ARGV[1]
local i = 2
local total = 0
for g = 0, #KEYS / 3 - 1 do
  local n = tonumber(ARGV[i])
  i = i + 1
  local removed = 0
  for _ = 1, n do
    removed = removed + redis.call('lrem', KEYS[g * 3 + 1], 1, ARGV[i])
    i = i + 1
  end
  if removed > 0 then
    redis.call('decrby', KEYS[g * 3 + 2], removed)
    redis.call('hincrby', KEYS[g * 3 + 3], pool, -removed)
  end
  total = total + removed
end
return total
"""

#: Finish one job and move it on. KEYS: inprogress, lock, lock_info, destination.
#: ARGV: pool id, raw job, mode ('z' = ZADD destination score payload, 'r' = RPUSH
#: destination payload), score, payload. Returns 1, or 0 if the job was not in progress.
FINISH_TO = """
if redis.call('lrem', KEYS[1], 1, ARGV[2]) == 0 then return 0 end
redis.call('decr', KEYS[2])
redis.call('hincrby', KEYS[3], ARGV[1], -1)
if ARGV[3] == 'z' then
  redis.call('zadd', KEYS[4], ARGV[4], ARGV[5])
else
  redis.call('rpush', KEYS[4], ARGV[5])
end
return 1
"""

#: gocraft's redisLuaEnqueueUnique / redisLuaEnqueueUniqueIn in one. KEYS: queue (or
#: scheduled), unique key. ARGV: job, marker value ("1" or the job for by-key), run-at
#: score (empty: LPUSH now). Returns 'ok' or 'dup'; a duplicate refreshes the marker.
ENQUEUE_UNIQUE = """
if redis.call('set', KEYS[2], ARGV[2], 'NX', 'EX', '86400') then
  if ARGV[3] == '' then
    redis.call('lpush', KEYS[1], ARGV[1])
  else
    redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
  end
  return 'ok'
end
redis.call('set', KEYS[2], ARGV[2], 'EX', '86400')
return 'dup'
"""

#: Move zset members to queues, each only if this call removed it (so two requeuers, Go
#: or Python, never both move one job). KEYS: zset, then one destination per member.
#: ARGV: triples (member, mode 'l' = LPUSH / 'z' = ZADD, payload) and, for 'z', the score
#: is appended after the payload. Returns how many moved.
MOVE_MEMBERS = """
local moved = 0
local i = 1
for k = 2, #KEYS do
  local member, mode, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local score = nil
  if mode == 'z' then
    score = ARGV[i]
    i = i + 1
  end
  if redis.call('zrem', KEYS[1], member) == 1 then
    if mode == 'z' then
      redis.call('zadd', KEYS[k], score, payload)
    else
      redis.call('lpush', KEYS[k], payload)
    end
    moved = moved + 1
  end
end
return moved
"""

#: Recover one job from a dead pool's in-progress list. KEYS: inprogress, jobs, crashes,
#: dead. ARGV: raw, job id, crash limit, now, dead payload. The job goes back to the front
#: of its queue, unless it has now been in progress in a dead worker ``limit`` times: then
#: it is dead (a poison job). Returns 0 (gone), 1 (requeued) or 2 (dead).
REAP_ONE = """
if redis.call('lrem', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
local crashes = redis.call('hincrby', KEYS[3], ARGV[2], 1)
redis.call('expire', KEYS[3], 604800)
if crashes >= tonumber(ARGV[3]) then
  redis.call('hdel', KEYS[3], ARGV[2])
  redis.call('zadd', KEYS[4], ARGV[4], ARGV[5])
  return 2
end
redis.call('rpush', KEYS[2], ARGV[1])
return 1
"""

#: gocraft's redisLuaReapStaleLocks for one job type: undo a dead pool's share of the
#: lock. KEYS: lock, lock_info. ARGV: dead pool id.
REAP_LOCK = """
local share = tonumber(redis.call('hget', KEYS[2], ARGV[1]))
if share then
  redis.call('decrby', KEYS[1], share)
  redis.call('hdel', KEYS[2], ARGV[1])
  if (tonumber(redis.call('get', KEYS[1])) or 0) < 0 then
    redis.call('set', KEYS[1], 0)
  end
end
return share
"""
