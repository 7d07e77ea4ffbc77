-- wrk script: POST one token-exchange form body (read from $WIF_BODY_FILE) to the token endpoint
-- and count answers that are not a 200 with an access token, so a fast error never passes for
-- a fast exchange.
local f = assert(io.open(os.getenv("WIF_BODY_FILE"), "r"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local bad = 0
function response(status, headers, resp_body)
  if status ~= 200 or not string.find(resp_body, '"access_token":"eyJ', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("WIF_RESULT requests=%d bad=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, bad, summary.duration, latency:percentile(50), latency:percentile(99)))
end
