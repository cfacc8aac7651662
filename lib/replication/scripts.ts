/**
 * The Lua scripts that decide every change of a replicated store inside Redis, atomically.
 *
 * Keys of a group (prefix P, one Redis hash slot: `{P}`):
 * - `{P}:epoch` a random token made with the data set (by the first instance to load it): a
 *   Redis that lost its data (`FLUSHALL`, restarted empty) lacks it, and every script refuses
 *   to run with another epoch than the caller's (`["epoch"]`), so nothing is written over a
 *   data set the instances do not hold;
 * - `{P}:epochs` a Stream with an entry per epoch named, on which the log reader also waits:
 *   an instance learns at once that another one named a new data set;
 * - `{P}:seq`  the last change number handed out;
 * - `{P}:log`  a Stream of every change, entry id `0-<seq>`, fields `o` (origin instance),
 *   `c` (the commit id the origin gave it, unique), `e` (the epoch) and `d` (the changes, a
 *   JSON array);
 * - per table `{P}:t:<table>:` + `rows` (key → record JSON), `vers` (key → seq of its last
 *   change), `ttl` (sorted set: key → deadline, ms since the epoch), `counters` (name →
 *   value), `meta` (`v`: seq of the table's last change), and per unique field `u:<f>`
 *   (value → key) and `uk:<f>` (key → value); `snap` (the table's compacted snapshot, see
 *   SNAPSHOT_SCRIPT) with its chunks `snap:<id>:<i>` and the writer's lock `snap:lock`.
 *
 * Keys and unique values travel as JSON text (so `1` and `"1"` stay apart); records as the
 * JSON of their encoded form, never parsed by the scripts. Numbers the scripts put in the
 * log are formatted as integers (`%.0f`) so that no precision is lost.
 *
 * The changes in the log, as JSON arrays:
 * - `["p", table, key, record, deadline | null]`: a record put;
 * - `["d", table, key]`: deleted; `["e", table, key]`: expired;
 * - `["n", table, counter, value]`: a counter set.
 */

/** Shared helpers, prepended to each script. */
const PRELUDE = `
local base = KEYS[1]
local function tk(t, s) return base .. ':t:' .. t .. ':' .. s end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%.0f', n) end
local function epoch_is(e) return redis.call('GET', base .. ':epoch') == e end
-- forgets a key's version, deadline and unique values (its row is already gone)
local function forget(t, k, fields)
  redis.call('HDEL', tk(t, 'vers'), k)
  redis.call('ZREM', tk(t, 'ttl'), k)
  for _, f in ipairs(fields) do
    local old = redis.call('HGET', tk(t, 'uk:' .. f), k)
    if old then
      redis.call('HDEL', tk(t, 'uk:' .. f), k)
      if redis.call('HGET', tk(t, 'u:' .. f), old) == k then redis.call('HDEL', tk(t, 'u:' .. f), old) end
    end
  end
end
local function append(origin, cid, maxlen, out, touched, epoch)
  if #out == 0 then return nil end
  local seq = redis.call('INCR', base .. ':seq')
  for t in pairs(touched) do redis.call('HSET', tk(t, 'meta'), 'v', seq) end
  local now = redis.call('TIME')
  redis.call('XADD', base .. ':log', 'MAXLEN', '~', maxlen, '0-' .. seq,
    'o', origin, 'c', cid, 'e', epoch, 't', now[1] .. string.format('%06d', now[2]),
    'd', '[' .. table.concat(out, ',') .. ']')
  return seq
end
`;

/**
 * Commits a batch of puts and deletes, all or nothing, after its checks:
 * ARGV = origin, commit id, log length, request JSON, epoch:
 * `{ c: [[table, key, version]], tc: [[table, version]], cap: [[table, max]],
 *    u: { table: [unique fields] }, ai: { table: counter }, ops: [op] }` where op is
 * `["p", table, key, record, ttl, { field: value | false }]` (ttl: ms from now, -1 none,
 * -2 keep the current deadline) or `["d", table, key]`.
 * Returns `["ok", seq, changes]` (the log entry's changes), `["noop", seq]`, `["conflict", table, seq]`,
 * `["duplicate", table, field, value, holder key]`, `["capacity", table, max]` or `["epoch"]`.
 */
export const COMMIT_SCRIPT = `${PRELUDE}
local origin, cid, maxlen, epoch = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
if not epoch_is(epoch) then return {'epoch'} end
local req = cjson.decode(ARGV[4])
for _, c in ipairs(req.c) do
  local v = tonumber(redis.call('HGET', tk(c[1], 'vers'), c[2]) or '0')
  if v ~= c[3] then return {'conflict', c[1], redis.call('GET', base .. ':seq') or '0'} end
end
for _, c in ipairs(req.tc) do
  local v = tonumber(redis.call('HGET', tk(c[1], 'meta'), 'v') or '0')
  if v ~= c[2] then return {'conflict', c[1], redis.call('GET', base .. ':seq') or '0'} end
end
local inbatch = {}
for _, op in ipairs(req.ops) do inbatch[op[2] .. '\\0' .. op[3]] = true end
local claims = {}
for _, op in ipairs(req.ops) do
  if op[1] == 'p' then
    for f, val in pairs(op[6]) do
      if val then
        local ck = op[2] .. '\\0' .. f .. '\\0' .. val
        if claims[ck] and claims[ck] ~= op[3] then return {'duplicate', op[2], f, val, claims[ck]} end
        claims[ck] = op[3]
        local owner = redis.call('HGET', tk(op[2], 'u:' .. f), val)
        if owner and owner ~= op[3] and not inbatch[op[2] .. '\\0' .. owner] then
          return {'duplicate', op[2], f, val, owner}
        end
      end
    end
  end
end
for _, c in ipairs(req.cap) do
  local n = redis.call('HLEN', tk(c[1], 'rows'))
  for _, op in ipairs(req.ops) do
    if op[2] == c[1] then
      local exists = redis.call('HEXISTS', tk(c[1], 'rows'), op[3]) == 1
      if op[1] == 'p' and not exists then n = n + 1 end
      if op[1] == 'd' and exists then n = n - 1 end
    end
  end
  if n > c[2] then return {'capacity', c[1], c[2]} end
end
local seq = tonumber(redis.call('GET', base .. ':seq') or '0') + 1
local now = now_ms()
local out, touched = {}, {}
for _, op in ipairs(req.ops) do
  local t, k = op[2], op[3]
  local qt = cjson.encode(t)
  if op[1] == 'p' then
    redis.call('HSET', tk(t, 'rows'), k, op[4])
    redis.call('HSET', tk(t, 'vers'), k, seq)
    for f, val in pairs(op[6]) do
      local old = redis.call('HGET', tk(t, 'uk:' .. f), k)
      if old and old ~= val and redis.call('HGET', tk(t, 'u:' .. f), old) == k then
        redis.call('HDEL', tk(t, 'u:' .. f), old)
      end
      if val then
        redis.call('HSET', tk(t, 'u:' .. f), val, k)
        redis.call('HSET', tk(t, 'uk:' .. f), k, val)
      else
        redis.call('HDEL', tk(t, 'uk:' .. f), k)
      end
    end
    local deadline = 'null'
    if op[5] >= 0 then
      local d = now + op[5]
      redis.call('ZADD', tk(t, 'ttl'), d, k)
      deadline = int(d)
    elseif op[5] == -1 then
      redis.call('ZREM', tk(t, 'ttl'), k)
    else
      local d = redis.call('ZSCORE', tk(t, 'ttl'), k)
      if d then deadline = int(tonumber(d)) end
    end
    out[#out + 1] = '["p",' .. qt .. ',' .. k .. ',' .. op[4] .. ',' .. deadline .. ']'
    touched[t] = true
    local counter = req.ai[t]
    local n = tonumber(k)
    if counter and n then
      local current = tonumber(redis.call('HGET', tk(t, 'counters'), counter) or '0')
      if n > current then
        redis.call('HSET', tk(t, 'counters'), counter, int(n))
        out[#out + 1] = '["n",' .. qt .. ',' .. cjson.encode(counter) .. ',' .. int(n) .. ']'
      end
    end
  elseif redis.call('HDEL', tk(t, 'rows'), k) == 1 then
    forget(t, k, req.u[t] or {})
    out[#out + 1] = '["d",' .. qt .. ',' .. k .. ']'
    touched[t] = true
  end
end
if #out == 0 then return {'noop', redis.call('GET', base .. ':seq') or '0'} end
append(origin, cid, maxlen, out, touched, epoch)
return {'ok', tostring(seq), '[' .. table.concat(out, ',') .. ']'}
`;

/**
 * Expires what is due: ARGV = origin, log length, most records per table, request JSON
 * `{ table: [unique fields] }`, epoch, commit id. Every record whose deadline (Redis's clock)
 * has passed is removed once, whichever instance asks first. Returns how many expired, or -1
 * for another epoch.
 */
export const EXPIRE_SCRIPT = `${PRELUDE}
local origin, maxlen, limit, epoch, cid = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5], ARGV[6]
if not epoch_is(epoch) then return -1 end
local tables = cjson.decode(ARGV[4])
local now = now_ms()
local out, touched = {}, {}
for t, fields in pairs(tables) do
  local due = redis.call('ZRANGEBYSCORE', tk(t, 'ttl'), '-inf', now, 'LIMIT', 0, limit)
  local qt = cjson.encode(t)
  for _, k in ipairs(due) do
    redis.call('ZREM', tk(t, 'ttl'), k)
    if redis.call('HDEL', tk(t, 'rows'), k) == 1 then
      forget(t, k, fields)
      out[#out + 1] = '["e",' .. qt .. ',' .. k .. ']'
      touched[t] = true
    end
  end
end
append(origin, cid, maxlen, out, touched, epoch)
return #out
`;

/**
 * Hands out or sets a counter value: ARGV = origin, commit id, log length, table, counter,
 * mode (`next` or `reset`), value (for reset), epoch. Returns `[seq, value, changes]`,
 * `["epoch"]`, or `["limit"]` when the counter stands at 2^53 - 1 (past it, numbers are no
 * longer exact in JavaScript, nor in Lua).
 */
export const COUNTER_SCRIPT = `${PRELUDE}
local origin, cid, maxlen, t, name, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local epoch = ARGV[8]
if not epoch_is(epoch) then return {'epoch'} end
local v
if mode == 'next' then
  local current = redis.call('HGET', tk(t, 'counters'), name)
  if current and tonumber(current) >= 9007199254740991 then return {'limit'} end
  v = redis.call('HINCRBY', tk(t, 'counters'), name, 1)
else
  v = tonumber(ARGV[7])
  redis.call('HSET', tk(t, 'counters'), name, int(v))
end
local change = '["n",' .. cjson.encode(t) .. ',' .. cjson.encode(name) .. ',' .. int(v) .. ']'
local seq = append(origin, cid, maxlen, {change}, {}, epoch)
return {tostring(seq), int(v), '[' .. change .. ']'}
`;

/**
 * Names the data set if it has no epoch yet (a new one, or what is left after a loss):
 * ARGV = a new random epoch. Returns the epoch.
 */
export const EPOCH_SCRIPT = `
local current = redis.call('GET', KEYS[1] .. ':epoch')
if current then return current end
redis.call('SET', KEYS[1] .. ':epoch', ARGV[1])
redis.call('XADD', KEYS[1] .. ':epochs', 'MAXLEN', '~', 100, '*', 'e', ARGV[1])
return ARGV[1]
`;

/**
 * Reads a part of a table for a new instance's snapshot: ARGV = table, HSCAN cursor, count.
 * Returns `[next cursor, row count, rows]` where rows is one JSON array text, flat: key,
 * encoded record, the log number of its last change, its deadline (Redis's clock) or null,
 * key, …. Each part's rows, versions and deadlines are read together (atomically); a part
 * of 500 small rows holds Redis about 2 ms. Texts are joined as stored, never parsed here.
 */
export const SCAN_SCRIPT = `${PRELUDE}
local t = ARGV[1]
local reply = redis.call('HSCAN', tk(t, 'rows'), ARGV[2], 'COUNT', ARGV[3])
local flat = reply[2]
local n = #flat / 2
if n == 0 then return {reply[1], 0, '[]'} end
local keys = {}
for i = 1, n do keys[i] = flat[2 * i - 1] end
local versions = redis.call('HMGET', tk(t, 'vers'), unpack(keys))
local timed = redis.call('ZCARD', tk(t, 'ttl')) > 0
local out = {}
for i = 1, n do
  local d = timed and redis.call('ZSCORE', tk(t, 'ttl'), keys[i]) or false
  out[i] = keys[i] .. ',' .. flat[2 * i] .. ',' .. (versions[i] or '0') .. ',' .. (d and int(tonumber(d)) or 'null')
end
return {reply[1], n, '[' .. table.concat(out, ',') .. ']'}
`;

/**
 * Publishes a table's compacted snapshot whose chunks are written (`{P}:t:<table>:snap:<id>:<i>`,
 * strings with a deadline until published): ARGV = table, epoch, seq, the commit id of log
 * entry `seq` as the writer applied it, snapshot id, chunk count, the writer's lock token
 * (`{P}:t:<table>:snap:lock`, given back). Published only when the
 * data set is the writer's (same epoch, and the log's entry `seq` is the one it applied: an
 * instance that missed a loss never publishes another history) and no newer snapshot of the
 * data set is published; the chunks of the one it replaces are left a minute for loads still reading
 * them. Meta `{P}:t:<table>:snap`: `id`, `epoch`, `seq`, `n`. Returns 1, or 0 if refused.
 */
export const SNAPSHOT_SCRIPT = `${PRELUDE}
local t, epoch, seq, cid, id, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local meta = tk(t, 'snap')
if redis.call('GET', meta .. ':lock') == ARGV[7] then redis.call('DEL', meta .. ':lock') end
if not epoch_is(epoch) then return 0 end
local entry = redis.call('XRANGE', base .. ':log', '0-' .. seq, '0-' .. seq)
if #entry == 0 then return 0 end
local fields, found = entry[1][2], nil
for i = 1, #fields, 2 do if fields[i] == 'c' then found = fields[i + 1] end end
if found ~= cid then return 0 end
local held = redis.call('HMGET', meta, 'id', 'seq', 'n', 'epoch')
if held[4] == epoch and tonumber(held[2]) >= tonumber(seq) then return 0 end
for i = 1, n do
  if redis.call('EXISTS', meta .. ':' .. id .. ':' .. i) == 0 then return 0 end
end
for i = 1, n do redis.call('PERSIST', meta .. ':' .. id .. ':' .. i) end
if held[1] then
  for i = 1, tonumber(held[3]) do redis.call('PEXPIRE', meta .. ':' .. held[1] .. ':' .. i, 60000) end
end
redis.call('HSET', meta, 'id', id, 'epoch', epoch, 'seq', seq, 'n', n)
return 1
`;
