-- Drives the Neovim plugin in editors/nvim from a real, headless Neovim and writes what happened to JSON.
--
--   nvim --clean --headless -n -i NONE -l tests/editors/nvim_plugin_driver.lua
--
-- Script mode (-l): an uncaught error exits with status 3 after writing the result, the watchdog with 124.
--
-- Environment:
--   TILELSP_PLUGIN      the plugin folder (editors/nvim): put on 'runtimepath', plugin/tilelsp.lua sourced
--   TILELSP_SETUP       JSON object: the options of require('tilelsp').setup()
--   TILELSP_FILE        the kernel file to open (imports tilelang)
--   TILELSP_PLAIN       a Python file that does not import tilelang (the server must not attach to it)
--   TILELSP_OUT         where to write the JSON result
--   TILELSP_HOVER       JSON {"line": L, "col": C} (0-based line, byte column) for a hover
--   TILELSP_EDIT        optional JSON {"line": L, "from": "num_stages=4", "to": "num_stages=2"}: the edit that
--                       clears TILELSP_GONE; then the full flow runs (:write and the compile code lens,
--                       :TileCompile, :TileShowCuda, :TileShowTir, :TileRunCheck, :checkhealth tilelsp, trust
--                       withdrawn)
--   TILELSP_GONE        the diagnostic code the edit clears
--   TILELSP_TRUST_ROOT  optional: setup{ trusted = function(root) return root == TILELSP_TRUST_ROOT end }
--   TILELSP_TIMEOUT_MS  watchdog (default 240000)

local function env(name)
  local value = vim.env[name]
  if value == nil or value == '' then
    error(name .. ' is not set')
  end
  return value
end

local out = env('TILELSP_OUT')
local result = { steps = {}, messages = {} }
local t0 = vim.uv.hrtime()
local LONG = 180000 -- a wait that includes a compile (the worker imports TVM first)

local function step(name)
  table.insert(result.steps, { name = name, ms = (vim.uv.hrtime() - t0) / 1e6 })
end

local function write(res)
  vim.fn.writefile({ vim.json.encode(res) }, out)
end

vim.defer_fn(function()
  result.error = 'watchdog timeout'
  write(result)
  vim.cmd('cquit! 124')
end, tonumber(vim.env.TILELSP_TIMEOUT_MS) or 240000)

-- every notification (the plugin's own and the server's window/showMessage)
vim.notify = function(message, level)
  table.insert(result.messages, { message = tostring(message), level = level or vim.NIL })
end

vim.lsp.log.set_level(vim.env.TILELSP_LSP_LOG_LEVEL or 'warn')
result.lsp_log = vim.lsp.log.get_filename()

local function lens_titles(buf)
  local titles = {}
  for _, lens in ipairs(vim.lsp.codelens.get(buf)) do
    table.insert(titles, lens.command and lens.command.title or vim.NIL)
  end
  return titles
end

local function lens_starting(buf, prefix)
  for _, title in ipairs(lens_titles(buf)) do
    if type(title) == 'string' and title:sub(1, #prefix) == prefix then
      return true
    end
  end
  return false
end

local function diagnostics(buf)
  return vim.tbl_map(function(d)
    return {
      lnum = d.lnum, col = d.col, code = d.code or vim.NIL, message = d.message, severity = d.severity,
      source = d.source or vim.NIL,
    }
  end, vim.diagnostic.get(buf))
end

local function has_code(buf, code)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.code == code then
      return true
    end
  end
  return false
end

local function find_buffer(pattern)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):match(pattern) then
      return b
    end
  end
  return nil
end

local function scratch_facts(b)
  local lines = vim.api.nvim_buf_get_lines(b, 0, -1, false)
  local global_lines = {}
  for _, line in ipairs(lines) do
    if line:find('extern "C" __global__', 1, true) then
      table.insert(global_lines, line)
    end
  end
  local shown = false
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    shown = shown or vim.api.nvim_win_get_buf(win) == b
  end
  return {
    name = vim.api.nvim_buf_get_name(b), filetype = vim.bo[b].filetype, buftype = vim.bo[b].buftype,
    modifiable = vim.bo[b].modifiable, readonly = vim.bo[b].readonly, line_count = #lines,
    first_line = lines[1] or vim.NIL, global_lines = global_lines, shown = shown,
  }
end

local function run()
  local plugin = env('TILELSP_PLUGIN')
  vim.opt.runtimepath:prepend(plugin)
  vim.cmd.runtime('plugin/tilelsp.lua')
  local commands = vim.api.nvim_get_commands({})
  result.commands = {}
  for _, name in ipairs({ 'TileCompile', 'TileShowCuda', 'TileShowTir', 'TileShowPtx', 'TileRunCheck' }) do
    result.commands[name] = commands[name] ~= nil
  end

  local tilelsp = require('tilelsp')
  result.module_path = debug.getinfo(tilelsp.setup, 'S').source
  local options = vim.json.decode(env('TILELSP_SETUP'))
  if vim.env.TILELSP_TRUST_ROOT then -- `trusted` as a function of the workspace root
    local trusted_root = vim.env.TILELSP_TRUST_ROOT
    options.trusted = function(root)
      result.trust_asked = result.trust_asked or {}
      table.insert(result.trust_asked, root or vim.NIL)
      return root == trusted_root
    end
  end
  tilelsp.setup(options)
  step('setup')

  vim.cmd.edit(vim.fn.fnameescape(env('TILELSP_PLAIN')))
  local plain = vim.api.nvim_get_current_buf()
  vim.cmd.edit(vim.fn.fnameescape(env('TILELSP_FILE')))
  local buf = vim.api.nvim_get_current_buf()
  result.filetype = vim.bo[buf].filetype

  assert(vim.wait(60000, function()
    return tilelsp.client(buf) ~= nil and tilelsp.client(buf).initialized
  end, 10), 'tilelsp did not attach')
  local client = tilelsp.client(buf)
  step('attached')
  result.plain_clients = #vim.lsp.get_clients({ bufnr = plain })
  result.clients = #vim.lsp.get_clients({ name = 'tilelsp' })
  result.root_dir = client.root_dir or vim.NIL
  result.cmd = client.config.cmd
  result.server_info = client.server_info or vim.NIL
  result.settings = (client.settings or client.config.settings).tilelsp
  result.init_options = client.config.init_options
  result.codelens_refresh_capability = vim.tbl_get(client.capabilities, 'workspace', 'codeLens', 'refreshSupport')
    or vim.NIL

  assert(vim.wait(60000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 10), 'no diagnostics within 60 s')
  step('diagnostics')
  vim.wait(200, function() return false end, 10) -- pull and push answers both land
  result.diagnostics = diagnostics(buf)

  local hover = vim.json.decode(env('TILELSP_HOVER'))
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_cursor(win, { hover.line + 1, hover.col })
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  local answers, err = vim.lsp.buf_request_sync(buf, 'textDocument/hover', params, 20000)
  assert(answers, 'hover: ' .. tostring(err))
  local _, answer = next(answers)
  assert(answer and not answer.err, 'hover failed: ' .. vim.inspect(answer))
  result.hover = answer.result or vim.NIL
  step('hover')

  -- the lens the plugin asks for after the analysis (DiagnosticChanged), before any compile
  result.lens_before_save_seen = vim.wait(30000, function()
    return #lens_titles(buf) > 0
  end, 20)
  result.lenses_before_save = lens_titles(buf)
  step('first lens')

  if not vim.env.TILELSP_EDIT then
    return
  end
  local edit = vim.json.decode(vim.env.TILELSP_EDIT)
  local line = vim.api.nvim_buf_get_lines(buf, edit.line, edit.line + 1, true)[1]
  local s, e = line:find(edit.from, 1, true)
  assert(s, 'edit: ' .. edit.from .. ' not on line ' .. edit.line)
  vim.api.nvim_buf_set_text(buf, edit.line, s - 1, edit.line, e, { edit.to })
  result.edit_cleared = vim.wait(60000, function()
    return not has_code(buf, env('TILELSP_GONE'))
  end, 10)
  result.diagnostics_after_edit = diagnostics(buf)
  step('edited')

  -- :write -> didSave -> the server compiles (trusted) -> workspace/codeLens/refresh -> the plugin refreshes
  vim.cmd.write()
  result.compiled_lens_seen = vim.wait(LONG, function()
    return lens_starting(buf, 'tilec cpu: built in')
  end, 50)
  result.lenses_after_save = lens_titles(buf)
  step('compiled on save')

  local compile_answer = nil
  tilelsp.compile(buf, function(a)
    compile_answer = a or vim.NIL
  end)
  assert(vim.wait(30000, function() return compile_answer ~= nil end, 10), ':TileCompile: no answer')
  result.compile_answer = compile_answer
  result.compiled_again_seen = vim.wait(LONG, function()
    return lens_starting(buf, 'tilec cpu: built in')
  end, 50)
  step('compile command')

  vim.cmd('TileShowCuda')
  local cuda = nil
  vim.wait(LONG, function()
    cuda = find_buffer('^tilelsp://generated/.*%.cu$')
    return cuda ~= nil
  end, 50)
  assert(cuda, ':TileShowCuda opened no tilelsp://generated/ buffer')
  result.cuda = scratch_facts(cuda)
  step('show cuda')

  vim.api.nvim_set_current_win(win)
  vim.cmd('TileShowTir')
  local tir = nil
  vim.wait(LONG, function()
    tir = find_buffer('^tilelsp://generated/.*%.tir%.py$')
    return tir ~= nil
  end, 50)
  assert(tir, ':TileShowTir opened no tilelsp://generated/ buffer')
  result.tir = scratch_facts(tir)
  step('show tir')

  -- :TileRunCheck: the server runs `tilec run --check` and shows the outcome (window/showMessage -> vim.notify)
  vim.api.nvim_set_current_win(win)
  local seen = #result.messages
  vim.cmd('TileRunCheck')
  result.run_check_seen = vim.wait(LONG, function()
    for k = seen + 1, #result.messages do
      if result.messages[k].message:find('tilec run --check', 1, true) then
        result.run_check_message = result.messages[k].message
        return true
      end
    end
    return false
  end, 50)
  step('run check')

  vim.cmd('checkhealth tilelsp')
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  result.health_filetype = vim.bo.filetype
  step('checkhealth')
  vim.cmd('tabclose')
  vim.api.nvim_set_current_win(win)

  -- setup() again without trust: the running server is told (didChangeConfiguration) and stops compiling
  options.trusted = false
  tilelsp.setup(options)
  result.untrusted_lens_seen = vim.wait(60000, function()
    tilelsp.refresh_codelens(buf)
    return lens_starting(buf, 'tilec: not compiled (untrusted')
  end, 200)
  local refused = nil
  tilelsp.compile(buf, function(a)
    refused = a or vim.NIL
  end)
  assert(vim.wait(30000, function() return refused ~= nil end, 10), ':TileCompile: no answer')
  result.untrusted_compile_answer = refused
  result.lenses_untrusted = lens_titles(buf)
  step('untrusted')
end

local ok, err = pcall(run)
for _, c in ipairs(vim.lsp.get_clients()) do
  c:stop()
end
result.stopped = vim.wait(10000, function()
  return #vim.lsp.get_clients() == 0
end, 20)
if not ok then
  result.error = tostring(err)
  write(result)
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop(true)
  end
  vim.cmd('cquit! 3')
end
step('stopped')
write(result)
vim.cmd('qall!')
