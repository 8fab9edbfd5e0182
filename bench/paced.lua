-- wrk has no fixed-rate mode (wrk2 has): each connection waits WRK_DELAY_MS between requests,
-- so connections * 1000 / WRK_DELAY_MS is the offered rate (minus response time).
local d = tonumber(os.getenv("WRK_DELAY_MS") or "20")
function delay()
  return d
end
