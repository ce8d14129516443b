-- wrk script for bench/gateway/run.ts: POSTs the chat completion in BENCH_BODY (a file) with the
-- headers in BENCH_HEADERS ("Name: value" lines), optionally paced to BENCH_RATE requests/s per
-- wrk thread, and prints one "@@BENCH {json}" line with the latency percentiles in microseconds.
--
-- wrk is closed-loop; pacing uses its delay() hook: each time a connection is free, it takes the
-- next slot of a fixed schedule (one slot every 1000/BENCH_RATE ms) and waits until then. With
-- enough connections, the rate is the schedule's whatever the latency. delay() takes whole
-- milliseconds, so a request may leave up to 1 ms before its slot; the schedule itself never
-- drifts. If the target falls more than 100 ms behind, the schedule restarts from now (the
-- achieved rate then shows it could not keep up).

local body_file = assert(os.getenv("BENCH_BODY"), "BENCH_BODY not set")
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local k, v = line:match("^([^:]+):%s*(.-)%s*$")
  if k then wrk.headers[k] = v end
end

local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk, bench_timespec *ts);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_slot = nil

  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now - 100 then next_slot = now end
    local slot = next_slot
    next_slot = next_slot + interval
    local d = slot - now
    if d <= 0 then return 0 end
    return math.floor(d)
  end
end

-- No response() hook: it would make wrk parse every body and call Lua per response, slowing the
-- load generator; statuses >= 400 are counted in summary.errors.status.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '@@BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.2f,"stdev":%.2f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
