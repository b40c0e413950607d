-- wrk script for serve_vs_nginx.py's uncached row:
--   wrk ... -s serve_vs_nginx.lua URL -- THREADS URL_FILE
-- URL_FILE holds one path per line. Thread t of THREADS sends lines t, t+THREADS, t+2*THREADS, …
-- in order, so no two requests of the run share a path until a thread has sent all of its own
-- (then it starts over; serve_vs_nginx.py flags such a run as wrapped).

local next_id = 0

-- Runs in wrk's main Lua state once per thread, before the thread starts.
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

local paths = {}
local index = 1

-- Runs in each thread's own Lua state; thread_id was set by setup.
function init(args)
  local threads = tonumber(args[1])
  local line_no = 0
  for line in io.lines(args[2]) do
    if line ~= "" then
      if line_no % threads == thread_id then
        paths[#paths + 1] = line
      end
      line_no = line_no + 1
    end
  end
  if #paths == 0 then
    error("no paths for thread " .. thread_id .. " in " .. args[2])
  end
end

function request()
  local path = paths[index]
  index = index + 1
  if index > #paths then
    index = 1
  end
  return wrk.format("GET", path)
end
