-- wrk: market orders, buys and sells in turn, each from the next token in
-- WRK_ACCOUNTS ("name=token,..."). Every status is counted and printed at the
-- end, so a benchmark never reports refused orders as throughput.
local tokens = {}
for name, token in string.gmatch(os.getenv("WRK_ACCOUNTS") or "", "([^,=]+)=([^,]+)") do
  tokens[#tokens + 1] = token
end
local symbol = os.getenv("WRK_SYMBOL") or "META"
local count = 0
statuses = {}  -- a global: done() reads it through thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  count = count + 1
  -- Each account buys and sells in turn (the token index runs faster than the side).
  local side = (math.floor(count / #tokens) % 2 == 0) and "buy" or "sell"
  local body = '{"symbol":"' .. symbol .. '","side":"' .. side .. '","quantity":1}'
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[(count % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/orders", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
end
