-- wrk: a limit buy far below the price, which rests in the book, then its
-- cancel; each request is the next placement, or the cancel of an order that
-- rests. WRK_ACCOUNTS is "name=token,..." (a cancel goes with its order's
-- account's token, found by the name in the answer); every status is counted.
local tokens = {}
local token_of = {}
for name, token in string.gmatch(os.getenv("WRK_ACCOUNTS") or "", "([^,=]+)=([^,]+)") do
  tokens[#tokens + 1] = token
  token_of[name] = token
end
local symbol = os.getenv("WRK_SYMBOL") or "META"
local count = 0
local resting = {}
statuses = {}  -- a global: done() reads it through thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  count = count + 1
  local order = table.remove(resting)
  if order then
    local headers = { ["Authorization"] = "Bearer " .. order.token }
    return wrk.format("DELETE", "/api/orders/" .. order.id, headers)
  end
  local token = tokens[(count % #tokens) + 1]
  local body = '{"symbol":"' .. symbol .. '","side":"buy","quantity":1,"type":"limit","limit_price":"1.00"}'
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/orders", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    local id = string.match(body, '"id":%s*(%d+)')
    local account = string.match(body, '"account":%s*"([^"]+)"')
    if id and token_of[account] then
      table.insert(resting, { id = id, token = token_of[account] })
    end
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
end
