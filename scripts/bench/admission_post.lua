-- wrk script: POST one AdmissionReview (read from $WIF_BODY_FILE) to the webhook and count answers
-- that are not a 200 allowing the pod with a JSON patch, so a fast denial never passes for a fast
-- admission.
local f = assert(io.open(os.getenv("WIF_BODY_FILE"), "r"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

local bad = 0
function response(status, headers, resp_body)
  if status ~= 200 or not string.find(resp_body, '"allowed":true', 1, true)
     or not string.find(resp_body, '"patchType":"JSONPatch"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("WIF_RESULT requests=%d bad=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, bad, summary.duration, latency:percentile(50), latency:percentile(99)))
end
