-- wrk script for bench/serve/run: POST /embed, one sentence of the sample corpus per request
-- (in turn), and a JSON line of the results at the end.
local bodies = {}

function init(args)
  local path = args[1] or "samples/wordnet-sentences.txt"
  local limit = tonumber(args[2] or "512")
  for line in io.lines(path) do
    if #bodies >= limit then break end
    local text = line:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\t", "\\t")
    bodies[#bodies + 1] = '{"inputs": "' .. text .. '"}'
  end
  index = math.random(#bodies)
end

function request()
  index = index % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[index])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, "p50_us": %.1f, "p90_us": %.1f, "p99_us": %.1f, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
