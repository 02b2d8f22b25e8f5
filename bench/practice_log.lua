-- wrk script: POST a practice log with a fresh UUID each time (or, with REPLAY=1, one of a
-- fixed set of ids that were stored already). Cookie and token come from the environment.
local cookie = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local exercise = os.getenv("BENCH_EXERCISE")
local replay = os.getenv("BENCH_REPLAY") == "1"
local path = os.getenv("BENCH_PATH")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed * 7919)
  counter = 0
end

local function hex(n)
  local out = {}
  for i = 1, n do out[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(out)
end

request = function()
  local id
  if replay then
    counter = counter % 100 + 1
    id = string.format("00000000-0000-4000-8000-%012d", counter)
  else
    id = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-8" .. hex(3) .. "-" .. hex(12)
  end
  local body = '{"id":"' .. id .. '","exercise_id":' .. exercise ..
    ',"started_at":"2026-01-05T09:00:00+00:00","timezone":"Europe/London",' ..
    '"local_date":"2026-01-05","listened_seconds":300,"completed":true}'
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "tend_session=" .. cookie,
    ["X-CSRF-Token"] = csrf,
  }, body)
end
