-- Headless test of inline completion in editors/nvim (EditorClientTests runs it against
-- llmuxd and the mock, whose model mock/coder echoes the prompt word by word, slowly).
-- Prints "ok <name>" per check and exits 0, or "FAIL <name>: <why>" and exits 1.
local api = vim.api
require("llmux").setup({})
local complete = require("llmux.complete")
complete.enable({ model = "mock/coder", debounce_ms = 0 })
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

-- The line as typed so far, inside a call: the cursor is before the ")" (outside insert mode,
-- which a headless script cannot stay in, the cursor cannot be past the line's end).
local function type_line(buf, text)
  api.nvim_buf_set_lines(buf, 0, -1, false, { "f(" .. text .. ")" })
  api.nvim_win_set_cursor(0, { 1, 2 + #text })
end

local function run()
  local buf = api.nvim_create_buf(true, false)
  api.nvim_set_current_buf(buf)

  -- A burst of typing: each keystroke asks again, superseding the request before.
  local ids = {}
  for count = 1, 5 do
    type_line(buf, "value" .. string.rep("a", count))
    -- What a keystroke in insert mode does (the TextChangedI autocommand).
    api.nvim_exec_autocmds("TextChangedI", { buffer = buf })
    table.insert(ids, complete.last_id(buf))
    vim.wait(100)
  end
  check("every keystroke asked", #ids == 5 and ids[1] ~= ids[5], vim.inspect(ids))
  local expected = "echo: f(valueaaaaa"
  check("the ghost text is the last answer", vim.wait(10000, function()
    return complete.ghost_text(buf) == expected
  end, 10), vim.inspect(complete.ghost_text(buf)))
  check("the buffer itself is unchanged", api.nvim_buf_get_lines(buf, 0, -1, false)[1] == "f(valueaaaaa)",
    vim.inspect(api.nvim_buf_get_lines(buf, 0, -1, false)))

  -- Accepting inserts it at the cursor and removes the ghost.
  check("accept inserts the completion", complete.accept(), "nothing to accept")
  check("accepted text in the buffer", api.nvim_buf_get_lines(buf, 0, -1, false)[1] == "f(valueaaaaa" .. expected .. ")",
    vim.inspect(api.nvim_buf_get_lines(buf, 0, -1, false)))
  check("no ghost after accepting", complete.ghost_text(buf) == "", vim.inspect(complete.ghost_text(buf)))

  -- Leaving insert mode dismisses a completion that is still streaming (mock/endless runs 30 s).
  complete.config.model = "mock/endless"
  type_line(buf, "slowly")
  api.nvim_exec_autocmds("TextChangedI", { buffer = buf })
  vim.wait(10000, function()
    return complete.ghost_text(buf) ~= ""
  end, 10)
  check("a completion shows while streaming", complete.ghost_text(buf) ~= "", "nothing shown")
  api.nvim_exec_autocmds("InsertLeave", { buffer = buf })
  check("leaving insert mode removes the ghost", complete.ghost_text(buf) == "", vim.inspect(complete.ghost_text(buf)))
  check("and cancels its request", vim.wait(5000, function()
    return not complete.is_running(buf)
  end, 10), "still running")
end

local ok, err = pcall(run)
if not ok then
  failures = failures + 1
  out("FAIL error: " .. tostring(err))
end
out(failures == 0 and "all checks passed" or (failures .. " check(s) failed"))
vim.cmd(failures == 0 and "qall!" or "cquit!")
