"""Lua run inside Redis, so a read is one round trip and its TTL refresh cannot race a write.

Layout (see ``base.Keys``): one hash per thread holds every checkpoint, its blob references and its blobs;
a sorted set per thread indexes ``ns SEP checkpoint_id``; one hash per checkpoint holds its writes.
``SEP`` is the byte 0x1f (``\\31`` in Lua).
"""

from __future__ import annotations

GET_CHECKPOINT = r"""
-- KEYS[1] thread hash, KEYS[2] thread index
-- ARGV[1] checkpoint_ns, ARGV[2] checkpoint_id ('' = latest), ARGV[3] ttl seconds, ARGV[4] writes key prefix
-- Returns {1, id, checkpoint, writes, blobs} on a complete hit, {0} or {0, id} on a miss.
local sep = '\31'
local ns, cid = ARGV[1], ARGV[2]
if cid == '' then
  local first, last = '[' .. ns .. sep, '[' .. ns .. sep .. '\255'
  local top = redis.call('ZREVRANGEBYLEX', KEYS[2], last, first, 'LIMIT', 0, 1)
  if #top == 0 then return {0} end
  cid = string.sub(top[1], #ns + 2)
end
local key = ns .. sep .. cid
local got = redis.call('HMGET', KEYS[1], 'c' .. sep .. key, 'r' .. sep .. key, 'w' .. sep .. key)
if not got[1] or not got[2] then return {0, cid} end
local refs = cjson.decode(got[2])
local blobs = {}
if #refs > 0 then
  blobs = redis.call('HMGET', KEYS[1], unpack(refs))
  for i = 1, #refs do
    if not blobs[i] then return {0, cid} end
  end
end
local wkey = ARGV[4] .. key
local writes = redis.call('HVALS', wkey)
if got[3] and #writes == 0 then return {0, cid} end
-- XX: refresh keys that expire; keys held without TTL (pending for MongoDB) stay so.
redis.call('EXPIRE', KEYS[1], ARGV[3], 'XX')
redis.call('EXPIRE', KEYS[2], ARGV[3], 'XX')
if #writes > 0 then redis.call('EXPIRE', wkey, ARGV[3], 'XX') end
return {1, cid, got[1], writes, blobs}
"""

DELETE_THREAD = r"""
-- KEYS[1] thread hash, KEYS[2] thread index; ARGV[1] writes key prefix. Returns keys deleted.
local deleted = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  deleted = deleted + redis.call('DEL', ARGV[1] .. member)
end
return deleted + redis.call('DEL', KEYS[1], KEYS[2])
"""
