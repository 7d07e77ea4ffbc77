-- wrk script: POST one body (read from $WIF_BODY_FILE, sent as $WIF_CONTENT_TYPE) and count the answers
-- that are not a 200 containing every '|'-separated string of $WIF_EXPECT, so a fast error never
-- passes for a fast success. Prints one WIF_RESULT line for the bench scripts.
local f = assert(io.open(os.getenv("WIF_BODY_FILE"), "r"))
local body = f:read("*a")
f:close()

local expect = {}
for needle in string.gmatch(os.getenv("WIF_EXPECT") or "", "[^|]+") do
  table.insert(expect, needle)
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = os.getenv("WIF_CONTENT_TYPE") or "application/json"

local bad = 0
function response(status, headers, resp_body)
  local ok = status == 200
  for _, needle in ipairs(expect) do
    ok = ok and string.find(resp_body, needle, 1, true) ~= nil
  end
  if not ok then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("WIF_RESULT requests=%d bad=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, bad, summary.duration, latency:percentile(50), latency:percentile(99)))
end
