-- Inline code completion for Neovim: ghost text from llmuxd's `complete` frames.
--
-- Each pause in typing asks for a fill-in-the-middle completion of the text around the
-- cursor, with `supersede` set per buffer: the daemon cancels the previous request at once
-- (closing its upstream connection), so only the latest costs anything. `debounce_ms` lets the
-- daemon wait before asking an upstream at all. The answer shows as ghost text (an extmark's
-- virtual text) at the cursor; the accept key inserts it, the dismiss key, any further
-- keystroke or leaving insert mode removes it and cancels its request.
local llmux = require("llmux")
local api = vim.api

local M = {}

M.config = {
  -- A model or route that serves completions; nil: the daemon's default model.
  model = nil,
  -- The daemon waits this long before asking an upstream (a superseded request costs nothing).
  debounce_ms = 150,
  max_tokens = 64,
  -- Text before and after the cursor sent with each request, in lines.
  context_lines = 200,
  accept_key = "<Tab>",
  dismiss_key = "<C-]>",
}

local namespace = api.nvim_create_namespace("llmux-complete")
-- Per buffer: { id = the latest request, text = its answer so far, mark = the ghost extmark,
-- row, col = where it was asked }.
local state = {}

local function clear(buf)
  local entry = state[buf]
  if not entry then
    return
  end
  if entry.mark and api.nvim_buf_is_valid(buf) then
    pcall(api.nvim_buf_del_extmark, buf, namespace, entry.mark)
  end
  entry.mark = nil
  entry.text = ""
end

local function render(buf, entry)
  if not api.nvim_buf_is_valid(buf) or entry.text == "" then
    return
  end
  local lines = vim.split(entry.text, "\n", { plain = true })
  local opts = {
    id = entry.mark,
    virt_text = { { lines[1], "Comment" } },
    virt_text_pos = "inline",
  }
  if #lines > 1 then
    local rest = {}
    for index = 2, #lines do
      table.insert(rest, { { lines[index], "Comment" } })
    end
    opts.virt_lines = rest
  end
  local ok, mark = pcall(api.nvim_buf_set_extmark, buf, namespace, entry.row, entry.col, opts)
  if not ok then
    -- Neovim before 0.10 has no inline virtual text: show it at the end of the line.
    opts.virt_text_pos = "eol"
    ok, mark = pcall(api.nvim_buf_set_extmark, buf, namespace, entry.row, entry.col, opts)
  end
  if ok then
    entry.mark = mark
  end
end

--- Cancels the buffer's request and removes its ghost text.
function M.dismiss(buf)
  buf = buf or api.nvim_get_current_buf()
  local entry = state[buf]
  if not entry then
    return
  end
  if entry.id and entry.running then
    llmux.cancel_id(entry.id)
  end
  entry.running = false
  clear(buf)
end

--- Asks for a completion at the cursor of the current window (what each keystroke in insert
--- mode does). Returns the request id.
function M.trigger()
  local buf = api.nvim_get_current_buf()
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local first = math.max(0, row - M.config.context_lines)
  local before = api.nvim_buf_get_lines(buf, first, row + 1, false)
  local line = before[#before] or ""
  before[#before] = line:sub(1, col)
  local after = api.nvim_buf_get_lines(buf, row, row + 1 + M.config.context_lines, false)
  after[1] = (after[1] or ""):sub(col + 1)
  local entry = state[buf] or {}
  state[buf] = entry
  clear(buf)
  local id = llmux.new_id("complete")
  entry.id, entry.row, entry.col, entry.text, entry.running = id, row, col, "", true
  local frame = {
    type = "complete",
    id = id,
    prefix = table.concat(before, "\n"),
    suffix = table.concat(after, "\n"),
    supersede = "nvim-buffer-" .. buf,
    debounce_ms = M.config.debounce_ms,
    max_tokens = M.config.max_tokens,
  }
  if M.config.model then
    frame.model = M.config.model
  end
  llmux.request_frames(frame, function(message)
    -- Frames of a request the buffer no longer waits for are dropped.
    if entry.id ~= id then
      return
    end
    if message.type == "delta" and type(message.text) == "string" then
      entry.text = entry.text .. message.text
      render(buf, entry)
    elseif message.type == "done" or message.type == "error" then
      entry.running = false
    end
  end)
  return id
end

--- The id of the buffer's latest request, or nil.
function M.last_id(buf)
  local entry = state[buf or api.nvim_get_current_buf()]
  return entry and entry.id
end

--- Whether the buffer's latest request is still running.
function M.is_running(buf)
  local entry = state[buf or api.nvim_get_current_buf()]
  return entry ~= nil and entry.running == true
end

--- The ghost text shown in `buf` (the latest answer so far), or "".
function M.ghost_text(buf)
  local entry = state[buf or api.nvim_get_current_buf()]
  return entry and entry.mark and entry.text or ""
end

--- Inserts the ghost text at the cursor; false when there is none.
function M.accept()
  local buf = api.nvim_get_current_buf()
  local entry = state[buf]
  if not entry or not entry.mark or entry.text == "" then
    return false
  end
  local text = entry.text
  M.dismiss(buf)
  local lines = vim.split(text, "\n", { plain = true })
  api.nvim_buf_set_text(buf, entry.row, entry.col, entry.row, entry.col, lines)
  local end_row = entry.row + #lines - 1
  local end_col = (#lines == 1) and (entry.col + #lines[1]) or #lines[#lines]
  api.nvim_win_set_cursor(0, { end_row + 1, end_col })
  return true
end

--- Turns inline completion on: each change in insert mode asks again (superseding the last),
--- leaving insert mode dismisses, and the accept and dismiss keys are mapped in insert mode.
function M.enable(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
  local group = api.nvim_create_augroup("llmux-complete", { clear = true })
  api.nvim_create_autocmd("TextChangedI", {
    group = group,
    callback = function()
      M.trigger()
    end,
  })
  api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    callback = function(args)
      M.dismiss(args.buf)
    end,
  })
  vim.keymap.set("i", M.config.accept_key, function()
    -- Without a completion shown, the key does what it did before.
    if not M.accept() then
      api.nvim_feedkeys(api.nvim_replace_termcodes(M.config.accept_key, true, false, true), "n", false)
    end
  end, { desc = "llmux: accept the completion" })
  vim.keymap.set("i", M.config.dismiss_key, function()
    M.dismiss()
  end, { desc = "llmux: dismiss the completion" })
end

--- Turns inline completion off and dismisses what is shown.
function M.disable()
  pcall(api.nvim_del_augroup_by_name, "llmux-complete")
  for buf in pairs(state) do
    M.dismiss(buf)
  end
end

return M
