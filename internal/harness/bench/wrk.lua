-- wrk script for the benchmark: POST the file named by $BENCH_BODY, with
-- the header x-api-key: $BENCH_KEY when it is set, and print one line of
-- JSON (prefixed BENCH_JSON) with the counts and exact latency percentiles.
--
--   BENCH_BODY=testdata/requests/sarah.json BENCH_KEY=... \
--     wrk -t2 -c32 -d10s -s internal/harness/bench/wrk.lua http://127.0.0.1:PORT/api/v1/generate-email

local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
  wrk.headers["x-api-key"] = key
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
