-- Drives tilelsp from a real, headless Neovim (>= 0.11) and writes what Neovim received to a JSON file.
--
--   nvim --clean --headless -n -i NONE -l tests/editors/nvim_tilelsp.lua
--
-- Script mode (-l) runs this file once after start-up: an uncaught error exits with status 1 and the
-- watchdog below exits with 124, so nvim never waits forever. `--clean` keeps filetype detection on.
--
-- Environment:
--   TILELSP_CMD         JSON list, the server command (e.g. ["python", "-m", "tilelsp", "--stdio"])
--   TILELSP_FILE        the kernel file to open
--   TILELSP_OUT         where to write the JSON result
--   TILELSP_HOVERS      JSON list of {"line": L, "col": C} (0-based line, byte column): for each, the
--                       cursor goes there and a hover is asked for at the cursor, in the position
--                       encoding the client negotiated (as `K` would)
--   TILELSP_EDIT        optional JSON {"line": L, "from": "num_stages=4", "to": "num_stages=2"}: an edit
--                       made after the first diagnostics; the script then waits for `TILELSP_GONE` to vanish
--   TILELSP_GONE        the diagnostic code that the edit must clear (e.g. "TL101")
--   TILELSP_SETTINGS    optional JSON object: the `tilelsp` settings section, which Neovim answers to the
--                       server's workspace/configuration requests
--   TILELSP_TIMEOUT_MS  watchdog (default 60000)

local function env(name)
  local value = vim.env[name]
  if value == nil or value == '' then error(name .. ' is not set') end
  return value
end

local out = env('TILELSP_OUT')
local result = { steps = {} }
local t0 = vim.uv.hrtime()

local function ms()
  return (vim.uv.hrtime() - t0) / 1e6
end

local function step(name)
  table.insert(result.steps, { name = name, ms = ms() })
end

local function write(res)
  vim.fn.writefile({ vim.json.encode(res) }, out)
end

vim.defer_fn(function()
  result.error = 'watchdog timeout'
  write(result)
  vim.cmd('cquit! 124')
end, tonumber(vim.env.TILELSP_TIMEOUT_MS) or 60000)

vim.lsp.log.set_level(vim.env.TILELSP_LSP_LOG_LEVEL or 'warn')
result.lsp_log = vim.lsp.log.get_filename()

vim.lsp.config('tilelsp', {
  cmd = vim.json.decode(env('TILELSP_CMD')),
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', '.git' },
  settings = { tilelsp = vim.json.decode(vim.env.TILELSP_SETTINGS or '{}') },
})
vim.lsp.enable('tilelsp')

--- Diagnostics of `buf` as Neovim stores them, with the LSP diagnostic Neovim was given and its namespace.
local function diagnostics(buf)
  return vim.tbl_map(function(d)
    local ns = vim.diagnostic.get_namespace(d.namespace)
    local lsp = d.user_data and d.user_data.lsp or vim.NIL
    return {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      code = d.code or vim.NIL, message = d.message, severity = d.severity, source = d.source or vim.NIL,
      namespace = ns and ns.name or vim.NIL, lsp = lsp,
    }
  end, vim.diagnostic.get(buf))
end

local function has_code(buf, code)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.code == code then return true end
  end
  return false
end

local function run()
  vim.cmd.edit(vim.fn.fnameescape(env('TILELSP_FILE')))
  local buf = vim.api.nvim_get_current_buf()
  result.filetype = vim.bo[buf].filetype
  assert(result.filetype == 'python', 'filetype not detected: ' .. result.filetype)

  assert(vim.wait(30000, function()
    return #vim.lsp.get_clients({ bufnr = buf, name = 'tilelsp' }) > 0
  end, 10), 'tilelsp did not attach')
  local client = vim.lsp.get_clients({ bufnr = buf, name = 'tilelsp' })[1]
  step('attached')

  assert(vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 10), 'no diagnostics within 30 s')
  step('diagnostics')
  vim.wait(200, function() return false end, 10) -- let the pull answer land next to the push one
  result.diagnostics = diagnostics(buf)
  result.root_dir = client.root_dir or vim.NIL
  result.offset_encoding = client.offset_encoding
  result.server_name = client.server_info and client.server_info.name or vim.NIL
  result.server_version = client.server_info and client.server_info.version or vim.NIL

  local win = vim.api.nvim_get_current_win()
  result.hovers = {}
  for _, target in ipairs(vim.json.decode(env('TILELSP_HOVERS'))) do
    vim.api.nvim_win_set_cursor(win, { target.line + 1, target.col })
    local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
    local answers, err = vim.lsp.buf_request_sync(buf, 'textDocument/hover', params, 10000)
    assert(answers, 'hover: ' .. tostring(err))
    local _, answer = next(answers)
    assert(answer, 'hover: no answer')
    assert(not answer.err, 'hover error: ' .. vim.inspect(answer.err))
    table.insert(result.hovers, { position = params.position, result = answer.result or vim.NIL })
  end
  step('hover')

  if vim.env.TILELSP_EDIT then
    local edit = vim.json.decode(vim.env.TILELSP_EDIT)
    local gone = env('TILELSP_GONE')
    local line = vim.api.nvim_buf_get_lines(buf, edit.line, edit.line + 1, true)[1]
    local s, e = line:find(edit.from, 1, true)
    assert(s, 'edit: ' .. edit.from .. ' not on line ' .. edit.line)
    -- an in-place change: Neovim sends it as an incremental didChange
    vim.api.nvim_buf_set_text(buf, edit.line, s - 1, edit.line, e, { edit.to })
    result.edited_line = vim.api.nvim_buf_get_lines(buf, edit.line, edit.line + 1, true)[1]
    result.edit_cleared = vim.wait(30000, function() return not has_code(buf, gone) end, 10)
    step('after edit')
    result.diagnostics_after_edit = diagnostics(buf)
  end

  for _, c in ipairs(vim.lsp.get_clients()) do c:stop() end
  result.stopped = vim.wait(5000, function() return #vim.lsp.get_clients() == 0 end, 20)
  step('stopped')
end

local ok, err = pcall(run)
if not ok then
  result.error = tostring(err)
  write(result)
  for _, c in ipairs(vim.lsp.get_clients()) do c:stop(true) end
  vim.cmd('cquit! 3')
end
write(result)
vim.cmd('qall!')
