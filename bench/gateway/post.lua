-- wrk: POST a chat completion; BENCH_STREAM=1 asks for a stream, BENCH_KEY is the bearer key.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "none")
local stream = os.getenv("BENCH_STREAM") == "1"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"hello there"}],"max_tokens":16' .. (stream and ',"stream":true' or '') .. '}'
-- BENCH_DELAY_MS > 0: each connection pauses that long after an answer before its next request (a paced load,
-- below saturation); wrk's latency does not include the pause.
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause and pause > 0 then
  function delay() return pause end
end
