-- llmux for Neovim: streams answers from llmuxd over its Unix socket.
--
-- One connection per editor carries every request; each request has its own
-- id, and its deltas land where it was started. The daemon holds the keys:
-- nothing secret passes through the editor. Works on Neovim 0.7 and later
-- (vim.loop pipes, vim.json). The wire format is protocol.md in the llmux
-- repository.
local M = {}

local uv = vim.loop
local api = vim.api

M.config = {
  -- The daemon's socket. nil: $LLMUX_SOCKET, then $XDG_RUNTIME_DIR/llmux/llmux.sock.
  socket = nil,
  -- A model or route name, or provider/model. nil: the daemon's default model.
  model = nil,
  -- Ask the daemon to merge deltas within this many milliseconds (fewer redraws); 0 sends each at once.
  coalesce_ms = 30,
  -- Where :Llmux opens its answer buffer: "split", "vsplit", "tab" or "current".
  open = "split",
  -- An optional system message sent before every prompt.
  system = nil,
}

local namespace = api.nvim_create_namespace("llmux")

-- The connection: { pipe, connected, queue (lines written before connect), pending (a partial line) }.
local connection = nil
-- Running requests by id.
local running = {}
-- Every request started in this session, by id (running or finished), for :LlmuxStatus and tests.
local requests = {}
-- Callbacks waiting for the answer to a models/ping/status frame, by id.
local waiters = {}
-- Callbacks that get every frame of a request until its terminal one, by id (inline completion).
local listeners = {}
local counter = 0

local function notify(message, level)
  vim.notify("llmux: " .. message, level or vim.log.levels.INFO)
end

--- The socket path in use, or nil and a reason.
function M.socket_path()
  if M.config.socket and M.config.socket ~= "" then
    return M.config.socket
  end
  local explicit = os.getenv("LLMUX_SOCKET")
  if explicit and explicit ~= "" then
    return explicit
  end
  local runtime = os.getenv("XDG_RUNTIME_DIR")
  if runtime and runtime ~= "" then
    return runtime .. "/llmux/llmux.sock"
  end
  return nil, "no socket path: set $XDG_RUNTIME_DIR or $LLMUX_SOCKET, or setup({ socket = ... })"
end

local function next_id(kind)
  counter = counter + 1
  return "nvim-" .. kind .. "-" .. counter
end

local function field(frame, name)
  local value = frame[name]
  if value == vim.NIL then
    return nil
  end
  return value
end

-- Inserts text at a request's insertion mark and moves the mark after it.
local function insert(request, text)
  local buf = request.buf
  if not api.nvim_buf_is_valid(buf) then
    return false
  end
  local position = api.nvim_buf_get_extmark_by_id(buf, namespace, request.mark, {})
  if position == nil or position[1] == nil then
    return false
  end
  local row, col = position[1], position[2]
  local lines = vim.split(text, "\n", { plain = true })
  local modifiable = api.nvim_buf_get_option(buf, "modifiable")
  if not modifiable then
    api.nvim_buf_set_option(buf, "modifiable", true)
  end
  api.nvim_buf_set_text(buf, row, col, row, col, lines)
  if not modifiable then
    api.nvim_buf_set_option(buf, "modifiable", false)
  end
  local end_row = row + #lines - 1
  local end_col = (#lines == 1) and (col + #lines[1]) or #lines[#lines]
  api.nvim_buf_set_extmark(buf, namespace, end_row, end_col, { id = request.mark, right_gravity = true })
  if request.follow then
    for _, win in ipairs(api.nvim_list_wins()) do
      if api.nvim_win_get_buf(win) == buf then
        api.nvim_win_set_cursor(win, { end_row + 1, 0 })
      end
    end
  end
  return true
end

local function finish(request, state, note)
  running[request.id] = nil
  request.state = state
  if note then
    insert(request, note)
  end
  if api.nvim_buf_is_valid(request.buf) then
    api.nvim_buf_set_var(request.buf, "llmux_state", state)
  end
  if request.on_finish then
    request.on_finish(request)
  end
end

-- One frame from the daemon, on the main loop.
local function on_frame(frame)
  local id = field(frame, "id")
  local kind = frame.type
  if id and waiters[id] then
    local callback = waiters[id]
    waiters[id] = nil
    callback(frame)
    return
  end
  if id and listeners[id] then
    local callback = listeners[id]
    if kind == "done" or kind == "error" then
      listeners[id] = nil
    end
    callback(frame)
    return
  end
  local request = id and running[id]
  if not request then
    if kind == "error" then
      notify((field(frame, "code") or "error") .. ": " .. (field(frame, "message") or ""), vim.log.levels.WARN)
    end
    return
  end
  if kind == "start" then
    request.model = field(frame, "model")
    request.provider = field(frame, "provider")
  elseif kind == "delta" then
    local text = field(frame, "text")
    if text and text ~= "" then
      request.received = request.received + #text
      if not insert(request, text) then
        -- The buffer is gone: nobody reads this answer any more.
        M.cancel(request.id)
      end
    end
  elseif kind == "done" then
    request.usage = field(frame, "usage")
    if field(frame, "finish_reason") == "cancelled" then
      finish(request, "cancelled", "\n[llmux: cancelled]")
    else
      finish(request, "done", nil)
    end
  elseif kind == "error" then
    request.error = field(frame, "code")
    local message = (field(frame, "message") or ""):gsub("\n", " ")
    finish(request, "error", "\n[llmux error " .. tostring(request.error) .. ": " .. message .. "]")
  end
end

local function on_line(line)
  if line == "" or line == "\r" then
    return
  end
  local ok, frame = pcall(vim.json.decode, line)
  if not ok or type(frame) ~= "table" then
    notify("ignored a line from llmuxd that is not JSON", vim.log.levels.WARN)
    return
  end
  on_frame(frame)
end

-- The connection ended (or never started): every request on it ends.
local function disconnected(this, reason)
  if connection ~= this then
    return
  end
  connection = nil
  if not this.pipe:is_closing() then
    this.pipe:close()
  end
  for _, request in pairs(running) do
    request.error = "disconnected"
    finish(request, "error", "\n[llmux error disconnected: " .. reason .. "]")
  end
  for id, callback in pairs(waiters) do
    waiters[id] = nil
    callback({ type = "error", id = id, code = "disconnected", message = reason })
  end
  for id, callback in pairs(listeners) do
    listeners[id] = nil
    callback({ type = "error", id = id, code = "disconnected", message = reason })
  end
end

local function connect()
  if connection then
    return connection
  end
  local path, reason = M.socket_path()
  if not path then
    error("llmux: " .. reason, 0)
  end
  local pipe = uv.new_pipe(false)
  local this = { pipe = pipe, connected = false, queue = {}, pending = {} }
  connection = this
  local hello = { type = "hello", protocol = { 1 }, client = "nvim", priority = "interactive" }
  if M.config.coalesce_ms and M.config.coalesce_ms > 0 then
    hello.coalesce_ms = M.config.coalesce_ms
  end
  table.insert(this.queue, vim.json.encode(hello) .. "\n")
  pipe:connect(path, function(err)
    if err then
      vim.schedule(function()
        disconnected(this, "cannot connect to llmuxd at " .. path .. " (" .. err .. "); is it running? systemctl --user start llmux.socket")
      end)
      return
    end
    this.connected = true
    pipe:read_start(function(read_err, chunk)
      if read_err or not chunk then
        vim.schedule(function()
          disconnected(this, read_err and ("read failed: " .. read_err) or "llmuxd closed the connection")
        end)
        return
      end
      -- Split on newlines; a line cut by the read stays pending until its end arrives.
      local lines = {}
      local start = 1
      while true do
        local newline = chunk:find("\n", start, true)
        if not newline then
          break
        end
        table.insert(this.pending, chunk:sub(start, newline - 1))
        table.insert(lines, table.concat(this.pending))
        this.pending = {}
        start = newline + 1
      end
      if start <= #chunk then
        table.insert(this.pending, chunk:sub(start))
      end
      if #lines > 0 then
        vim.schedule(function()
          for _, line in ipairs(lines) do
            on_line(line)
          end
        end)
      end
    end)
    for _, data in ipairs(this.queue) do
      pipe:write(data)
    end
    this.queue = {}
  end)
  return this
end

local function send(frame)
  local this = connect()
  local data = vim.json.encode(frame) .. "\n"
  if this.connected then
    this.pipe:write(data)
  else
    table.insert(this.queue, data)
  end
end

--- Starts a chat whose answer streams into `buf` at (row, col), 0-based.
--- opts: messages (required), buf, row, col, model, follow, on_finish.
--- Returns the request table ({ id, state = "running"|"done"|"cancelled"|"error", ... }).
function M.start(opts)
  local id = next_id("chat")
  local buf = opts.buf
  local request = {
    id = id,
    buf = buf,
    state = "running",
    received = 0,
    follow = opts.follow,
    on_finish = opts.on_finish,
    first = api.nvim_buf_set_extmark(buf, namespace, opts.row, opts.col, { right_gravity = false }),
    mark = api.nvim_buf_set_extmark(buf, namespace, opts.row, opts.col, { right_gravity = true }),
  }
  running[id] = request
  requests[id] = request
  api.nvim_buf_set_var(buf, "llmux_state", "running")
  local frame = { type = "chat", id = id, messages = opts.messages }
  local model = opts.model or M.config.model
  if model then
    frame.model = model
  end
  local ok, err = pcall(send, frame)
  if not ok then
    request.error = "disconnected"
    finish(request, "error", "\n[llmux error disconnected: " .. tostring(err) .. "]")
  end
  return request
end

local function messages_for(prompt)
  local messages = {}
  if M.config.system then
    table.insert(messages, { role = "system", content = M.config.system })
  end
  table.insert(messages, { role = "user", content = prompt })
  return messages
end

local function open_scratch(id)
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_option(buf, "buftype", "nofile")
  api.nvim_buf_set_option(buf, "bufhidden", "hide")
  api.nvim_buf_set_option(buf, "swapfile", false)
  api.nvim_buf_set_option(buf, "filetype", "markdown")
  pcall(api.nvim_buf_set_name, buf, "llmux://" .. id)
  local open = M.config.open
  if open == "vsplit" then
    vim.cmd("vsplit")
  elseif open == "tab" then
    vim.cmd("tabnew")
  elseif open ~= "current" then
    vim.cmd("split")
  end
  api.nvim_win_set_buf(0, buf)
  -- Closing the answer buffer cancels its request at once.
  api.nvim_create_autocmd({ "BufWipeout", "BufDelete" }, {
    buffer = buf,
    once = true,
    callback = function()
      for request_id, request in pairs(running) do
        if request.buf == buf then
          M.cancel(request_id)
        end
      end
    end,
  })
  return buf
end

--- Sends `prompt` and streams the answer into a new scratch buffer. opts: model.
function M.prompt(prompt, opts)
  opts = opts or {}
  local buf = open_scratch(tostring(counter + 1))
  return M.start({ messages = messages_for(prompt), buf = buf, row = 0, col = 0, model = opts.model, follow = true })
end

--- Sends lines first..last (1-based) of the current buffer with an instruction;
--- the answer streams into new lines below them.
function M.send_range(first, last, instruction, opts)
  opts = opts or {}
  local buf = api.nvim_get_current_buf()
  local selection = table.concat(api.nvim_buf_get_lines(buf, first - 1, last, false), "\n")
  local prompt = selection
  if instruction and instruction ~= "" then
    prompt = instruction .. "\n\n" .. selection
  end
  api.nvim_buf_set_lines(buf, last, last, false, { "" })
  return M.start({ messages = messages_for(prompt), buf = buf, row = last, col = 0, model = opts.model })
end

--- Sends `frame` (which must carry an id) and calls `callback` with each frame of its request,
--- the terminal one last. Errors sending are reported to `callback` as an error frame.
function M.request_frames(frame, callback)
  listeners[frame.id] = callback
  local ok, err = pcall(send, frame)
  if not ok then
    listeners[frame.id] = nil
    callback({ type = "error", id = frame.id, code = "disconnected", message = tostring(err) })
  end
end

--- A fresh request id of `kind`.
function M.new_id(kind)
  return next_id(kind)
end

--- Sends a cancel for any request id (no-op when not connected).
function M.cancel_id(id)
  if connection then
    pcall(send, { type = "cancel", id = id })
  end
end

--- Cancels request `id`; it ends with "[llmux: cancelled]" once the daemon confirms.
function M.cancel(id)
  if running[id] and connection then
    send({ type = "cancel", id = id })
    return true
  end
  return false
end

--- Cancels every running request; returns how many.
function M.cancel_all()
  local count = 0
  for id in pairs(running) do
    if M.cancel(id) then
      count = count + 1
    end
  end
  return count
end

--- The running request whose answer holds the cursor (or the only one in this buffer).
function M.request_at_cursor()
  local buf = api.nvim_get_current_buf()
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local in_buffer = {}
  for _, request in pairs(running) do
    if request.buf == buf then
      table.insert(in_buffer, request)
      local first = api.nvim_buf_get_extmark_by_id(buf, namespace, request.first, {})
      local last = api.nvim_buf_get_extmark_by_id(buf, namespace, request.mark, {})
      if first[1] and last[1] and row >= first[1] and row <= last[1] then
        return request
      end
    end
  end
  if #in_buffer == 1 then
    return in_buffer[1]
  end
  return nil
end

--- Asks the daemon for its models; calls back with the list of names, or nil and an error.
function M.models(callback)
  local id = next_id("models")
  waiters[id] = function(frame)
    if frame.type == "models" then
      local names = {}
      for _, model in ipairs(frame.models or {}) do
        table.insert(names, model.id)
      end
      callback(names, nil, field(frame, "default"))
    else
      callback(nil, (field(frame, "code") or "error") .. ": " .. (field(frame, "message") or ""))
    end
  end
  local ok, err = pcall(send, { type = "models", id = id })
  if not ok then
    waiters[id] = nil
    callback(nil, tostring(err))
  end
end

--- The request table of `id` (running or finished).
function M.request(id)
  return requests[id]
end

--- How many requests are running.
function M.running_count()
  local count = 0
  for _ in pairs(running) do
    count = count + 1
  end
  return count
end

--- Closes the connection (running requests are cancelled by the daemon).
function M.disconnect()
  if connection then
    disconnected(connection, "disconnected by the editor")
  end
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
  return M
end

-- Commands (defined by plugin/llmux.lua).

function M.command_prompt(args)
  local ok, err = pcall(M.prompt, args.args)
  if not ok then
    notify(tostring(err), vim.log.levels.ERROR)
  end
end

function M.command_send(args)
  local ok, err = pcall(M.send_range, args.line1, args.line2, args.args)
  if not ok then
    notify(tostring(err), vim.log.levels.ERROR)
  end
end

function M.command_cancel(args)
  if args.bang then
    notify("cancelling " .. M.cancel_all() .. " request(s)")
    return
  end
  local request = M.request_at_cursor()
  if request then
    M.cancel(request.id)
  else
    notify("no request under the cursor; :LlmuxCancel! cancels all " .. M.running_count(), vim.log.levels.WARN)
  end
end

function M.command_models()
  M.models(function(names, err, default)
    if not names then
      notify(err, vim.log.levels.ERROR)
      return
    end
    local lines = {}
    for _, name in ipairs(names) do
      table.insert(lines, (name == default and "* " or "  ") .. name)
    end
    if default and not vim.tbl_contains(names, default) then
      table.insert(lines, "* " .. default)
    end
    notify("models:\n" .. table.concat(lines, "\n"))
  end)
end

return M
