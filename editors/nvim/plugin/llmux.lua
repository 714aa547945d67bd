-- Commands of the llmux plugin; the module loads on first use.
if vim.g.loaded_llmux then
  return
end
vim.g.loaded_llmux = true

local function llmux()
  return require("llmux")
end

vim.api.nvim_create_user_command("Llmux", function(args)
  llmux().command_prompt(args)
end, { nargs = "+", desc = "llmux: stream an answer to the prompt into a scratch buffer" })

vim.api.nvim_create_user_command("LlmuxSend", function(args)
  llmux().command_send(args)
end, { nargs = "*", range = true, desc = "llmux: send the selected lines with an instruction; the answer streams below them" })

vim.api.nvim_create_user_command("LlmuxCancel", function(args)
  llmux().command_cancel(args)
end, { bang = true, desc = "llmux: cancel the request under the cursor (! cancels all)" })

vim.api.nvim_create_user_command("LlmuxModels", function()
  llmux().command_models()
end, { desc = "llmux: list the daemon's models and routes" })

vim.api.nvim_create_user_command("LlmuxComplete", function(args)
  local complete = require("llmux.complete")
  if args.args == "off" then
    complete.disable()
  else
    complete.enable()
  end
end, {
  nargs = "?",
  complete = function()
    return { "on", "off" }
  end,
  desc = "llmux: inline completion as ghost text (on | off)",
})
