-- Headless test of editors/nvim against a running llmuxd (EditorClientTests starts one
-- with the mock upstream and sets $LLMUX_SOCKET). Prints "ok <name>" per check and
-- exits 0, or prints "FAIL <name>: <why>" and exits 1.
--
--   nvim --headless -u NONE -i NONE --noplugin \
--     --cmd 'set rtp^=editors/nvim' -c 'runtime plugin/llmux.lua' -c 'luafile Tests/editors/nvim_test.lua'
--
-- Models (set by the Swift test on the mock): mock/default echoes the prompt at once,
-- mock/slow-echo echoes it word by word 40 ms apart, mock/endless streams "0000", "0001", ...
-- every 10 ms for 30 s, mock/huge sends one delta of 200,000 "x".
local llmux = require("llmux").setup({ open = "current" })
local failures = 0

local function out(line)
  io.stdout:write(line .. "\n")
end

local function check(name, condition, why)
  if condition then
    out("ok " .. name)
  else
    failures = failures + 1
    out("FAIL " .. name .. ": " .. tostring(why))
  end
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

local function wait_finished(request, ms)
  return vim.wait(ms or 10000, function()
    return request.state ~= "running"
  end, 10)
end

local function run()
  -- 1. :Llmux streams into a scratch buffer, through the command as a user types it.
  vim.cmd("Llmux hello from nvim")
  local buf = vim.api.nvim_get_current_buf()
  local first = llmux.request("nvim-chat-1")
  check("command started a request", first ~= nil, "no request nvim-chat-1")
  if not first then
    return
  end
  check("request finished", wait_finished(first), "still " .. first.state)
  check("answer in the scratch buffer", buffer_text(buf) == "echo: hello from nvim", vim.inspect(buffer_text(buf)))
  check("buffer state done", vim.b[buf].llmux_state == "done", vim.inspect(vim.b[buf].llmux_state))
  check("scratch buffer is not a file", vim.bo[buf].buftype == "nofile", vim.bo[buf].buftype)

  -- 2. :LlmuxCancel with the cursor in a streaming answer stops it.
  local slow = llmux.prompt("count", { model = "mock/endless" })
  local slow_buf = slow.buf
  check("endless stream produced output", vim.wait(10000, function()
    return slow.received >= 40
  end, 10), "received " .. slow.received)
  vim.cmd("LlmuxCancel")
  check("cancel ended the request", wait_finished(slow, 5000), "still " .. slow.state)
  check("cancelled state", slow.state == "cancelled", slow.state)
  local text = buffer_text(slow_buf)
  check("buffer shows the cancel", text:sub(-#"[llmux: cancelled]") == "[llmux: cancelled]", text:sub(-60))
  check("stream stopped early", #text < 3000 * 4, #text)
  local frozen = buffer_text(slow_buf)
  vim.wait(200, function()
    return false
  end)
  check("nothing arrives after the cancel", buffer_text(slow_buf) == frozen, "buffer grew")

  -- 3. Two concurrent requests each land in their own buffer.
  local a = llmux.prompt("alpha one two three four", { model = "mock/slow-echo" })
  local b = llmux.prompt("beta five six seven eight", { model = "mock/slow-echo" })
  check("both running at once", a.state == "running" and b.state == "running" and llmux.running_count() == 2,
    a.state .. "/" .. b.state)
  check("first concurrent finished", wait_finished(a), a.state)
  check("second concurrent finished", wait_finished(b), b.state)
  check("first buffer has its own answer", buffer_text(a.buf) == "echo: alpha one two three four", buffer_text(a.buf))
  check("second buffer has its own answer", buffer_text(b.buf) == "echo: beta five six seven eight", buffer_text(b.buf))
  check("separate buffers", a.buf ~= b.buf, "same buffer")

  -- 4. :LlmuxSend on a range streams the answer below the selection.
  local doc = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_win_set_buf(0, doc)
  vim.api.nvim_buf_set_lines(doc, 0, -1, false, { "line one", "line two", "line three" })
  vim.cmd("1,2LlmuxSend Summarize")
  local sent = llmux.request("nvim-chat-" .. (tonumber(b.id:match("%d+$")) + 1))
  check("range request started", sent ~= nil, "no request")
  if sent then
    check("range request finished", wait_finished(sent), sent.state)
  end
  local lines = vim.api.nvim_buf_get_lines(doc, 0, -1, false)
  check("selection kept", lines[1] == "line one" and lines[2] == "line two", vim.inspect(lines))
  check("answer below the selection", lines[3] == "echo: Summarize", vim.inspect(lines))
  check("rest of the selection echoed in order", lines[4] == "" and lines[5] == "line one" and lines[6] == "line two",
    vim.inspect(lines))
  check("text after the selection kept", lines[#lines] == "line three", vim.inspect(lines))

  -- 5. Models.
  local names
  llmux.models(function(list, err)
    names = list or err
  end)
  vim.wait(5000, function()
    return names ~= nil
  end, 10)
  check("models listed", type(names) == "table" and vim.tbl_contains(names, "fast"), vim.inspect(names))

  -- 6. A 200,000-byte delta arrives in many socket reads: the partial lines are joined.
  local huge = llmux.prompt("big", { model = "mock/huge" })
  check("huge answer finished", wait_finished(huge), huge.state)
  local huge_text = buffer_text(huge.buf)
  check("huge answer complete", #huge_text == 200000 and not huge_text:find("[^x]"), #huge_text)
end

local ok, err = pcall(run)
if not ok then
  failures = failures + 1
  out("FAIL error: " .. tostring(err))
end
io.stdout:flush()
if failures > 0 then
  vim.cmd("cquit 1")
else
  vim.cmd("qall!")
end
