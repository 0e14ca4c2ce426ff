-- wrk script for bench/run.py: prints one JSON line (prefixed BENCH) when the run ends.
--
-- Plain GETs: the URL and the -H headers as given.
-- With BENCH_BOOK_FILE set: POST /schedule/book, each request a different line of that
-- file ("cookie<TAB>form body"), thread t taking lines t, t+T, t+2T, ...; past the end
-- it wraps around (those bookings are refused: counted apart from the 303s).

local threads = {}
local book_file = os.getenv("BENCH_BOOK_FILE")

function setup(thread)
  thread:set("tid", #threads)
  thread:set("nthreads", tonumber(os.getenv("BENCH_THREADS") or "2"))
  table.insert(threads, thread)
end

if book_file then
  local lines = {}
  for l in io.lines(book_file) do
    local cookie, body = l:match("^([^\t]*)\t(.*)$")
    table.insert(lines, { cookie, body })
  end
  local i = nil
  n303, nother = 0, 0

  request = function()
    if i == nil then i = tid + 1 end
    local item = lines[((i - 1) % #lines) + 1]
    i = i + nthreads
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    headers["Cookie"] = item[1]
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "/schedule/book", headers, item[2])
  end

  response = function(status, headers, body)
    if status == 303 then n303 = n303 + 1 else nother = nother + 1 end
  end
end

function done(summary, latency, requests)
  local ok, other = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + (t:get("n303") or 0)
    other = other + (t:get("nother") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "status_errors": %d, "socket_errors": %d, "timeouts": %d, "n303": %d, "nother": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    latency.max, e.status, e.connect + e.read + e.write, e.timeout, ok, other))
end
