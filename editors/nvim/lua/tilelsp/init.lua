-- tilelsp for Neovim: the TileLang language server (tilelint's diagnostics, hovers, code lenses) and the
-- compiler's commands (:TileCompile, :TileShowCuda, :TileShowTir, :TileShowPtx, :TileRunCheck).
--
--   require('tilelsp').setup({ python = '/path/to/venv/bin/python', archs = { 'sm_80', 'sm_90' } })
--
-- Neovim >= 0.11 registers the server with vim.lsp.config('tilelsp', ...) + vim.lsp.enable('tilelsp');
-- Neovim 0.10 starts it with vim.lsp.start() from a FileType autocmd. Either way it starts only for Python
-- buffers whose text imports tilelang (`import tilelang...` / `from tilelang...`). See README.md.

local M = {}

local api = vim.api

M.name = 'tilelsp'

--- The keys of the server's `tilelsp` settings section (tilelsp/settings.py). Each one the user sets is sent
--- as `settings.tilelsp` (answered to workspace/configuration) and as `init_options.tilelsp`; a key that is
--- not set is not sent, so the project's `[tool.tilelint]` in pyproject.toml decides.
M.server_keys = {
  'archs', 'instantiate', 'select', 'ignore', 'nearLimit', 'failOn', 'debounceMs',
  'trusted', 'compileOnSave', 'compileTarget', 'compileTimeoutS', 'compileBackend', 'tilelangPython',
}

--- The plugin's own keys.
M.plugin_keys = {
  'python', 'cmd', 'root_markers', 'codelens', 'open', 'use_lsp_config', 'on_attach', 'capabilities',
}

M.defaults = {
  python = 'python3', -- the interpreter: the server is `<python> -m tilelsp --stdio`
  cmd = nil, -- the whole server command instead, e.g. { 'tilelsp', '--stdio' }
  root_markers = { 'pyproject.toml', '.git' },
  codelens = true, -- refresh and show the server's code lenses (compile results per kernel)
  open = 'vsplit', -- where :TileShowCuda & co. open the generated code: vsplit | split | tab | current
  use_lsp_config = nil, -- nil: vim.lsp.config/enable on Neovim >= 0.11; false: vim.lsp.start (the 0.10 way)
  on_attach = nil, -- function(client, bufnr)
  capabilities = nil, -- merged over Neovim's client capabilities
  trusted = false, -- compiling executes the file's module: only for code you trust (boolean or function(root))
}

--- The options of the last setup() (nil before).
M.options = nil

local KINDS = { cuda = 'cuda', ptx = 'ptx', tir = 'python', lowered = 'python' }

local function notify(message, level)
  vim.notify('tilelsp: ' .. message, level or vim.log.levels.INFO)
end

local function has_lsp_config()
  return vim.fn.has('nvim-0.11') == 1 and type(vim.lsp.config) == 'table' and vim.lsp.enable ~= nil
end

local function uses_lsp_config(o)
  if o.use_lsp_config == false then
    return false
  end
  return has_lsp_config()
end

--- client:request on Neovim >= 0.11, client.request on 0.10.
local function request(client, method, params, handler, bufnr)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- client:notify on Neovim >= 0.11, client.notify on 0.10.
local function client_notify(client, method, params)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

local function client_settings(client)
  if client.settings ~= nil then
    return client.settings
  end
  client.config.settings = client.config.settings or {}
  return client.config.settings
end

local function resolve_buf(bufnr)
  if bufnr == nil or bufnr == 0 then
    return api.nvim_get_current_buf()
  end
  return bufnr
end

--- The server command of options `o`.
function M.server_cmd(o)
  o = o or M.options or M.defaults
  local cmd = o.cmd ~= nil and vim.deepcopy(o.cmd) or { o.python or 'python3', '-m', 'tilelsp', '--stdio' }
  if type(cmd[1]) == 'string' and cmd[1]:find('[~$/]') then
    cmd[1] = vim.fs.normalize(cmd[1]) -- `~/venv/bin/python`, `$VIRTUAL_ENV/bin/python`
  end
  return cmd
end

--- The `tilelsp` settings section of options `o` for a workspace `root` (a function `trusted` is asked).
function M.section(o, root)
  local section = {}
  for _, key in ipairs(M.server_keys) do
    local value = o[key]
    if key == 'trusted' and type(value) == 'function' then
      local ok, trusted = pcall(value, root)
      value = ok and trusted == true
    elseif key == 'tilelangPython' and type(value) == 'string' and value:find('[~$]') then
      value = vim.fs.normalize(value) -- the server does not expand `~` or `$VAR`
    end
    if value ~= nil then
      section[key] = value
    end
  end
  return section
end

--- True when a line of the buffer imports tilelang (`import tilelang`, `import x, tilelang.language as T`,
--- `from tilelang import ...`, `from tilelang.language import ...`).
function M.imports_tilelang(bufnr)
  bufnr = resolve_buf(bufnr)
  for _, line in ipairs(api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line:find('^%s*from%s+tilelang[%s%.]') or line:find('^%s*import%s[%w_%.,%s]*%f[%w_]tilelang%f[^%w_]') then
      return true
    end
  end
  return false
end

--- True for a Python file buffer that imports tilelang: the buffers the server starts for.
function M.is_tile_buffer(bufnr)
  bufnr = resolve_buf(bufnr)
  return api.nvim_buf_is_loaded(bufnr)
    and vim.bo[bufnr].buftype == ''
    and vim.bo[bufnr].filetype == 'python'
    and M.imports_tilelang(bufnr)
end

--- The workspace root of a buffer: the nearest folder with a root marker (nil when there is none).
function M.root(bufnr)
  local o = M.options or M.defaults
  return vim.fs.root(resolve_buf(bufnr), o.root_markers)
end

--- The tilelsp client attached to a buffer, if any.
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = resolve_buf(bufnr), name = M.name })[1]
end

-- ------------------------------------------------------------------------------------------ code lenses

local function refresh_now(bufnr)
  if api.nvim_buf_is_valid(bufnr) and api.nvim_buf_is_loaded(bufnr) and M.client(bufnr) then
    pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
  end
end

--- Ask the server for the buffer's code lenses again (they show as virtual text).
function M.refresh_codelens(bufnr)
  refresh_now(resolve_buf(bufnr))
end

--- workspace/codeLens/refresh: the server asks after a compile is queued and when it finishes.
local function on_codelens_refresh(_, _, ctx)
  vim.schedule(function()
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if client == nil or (M.options and M.options.codelens == false) then
      return
    end
    for bufnr in pairs(client.attached_buffers or {}) do
      refresh_now(bufnr)
    end
  end)
  return vim.NIL
end

local function on_attach_buffer(client, bufnr)
  local o = M.options or M.defaults
  if o.codelens == false then
    return
  end
  local group = api.nvim_create_augroup('tilelsp.buffer.' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
    group = group,
    buffer = bufnr,
    desc = 'tilelsp: refresh code lenses',
    callback = function(args)
      refresh_now(args.buf)
    end,
  })
  -- a new analysis (new kernels, new lines) may move or add lenses
  api.nvim_create_autocmd('DiagnosticChanged', {
    group = group,
    buffer = bufnr,
    desc = 'tilelsp: refresh code lenses after an analysis',
    callback = function(args)
      if not api.nvim_get_mode().mode:find('^i') then
        refresh_now(args.buf)
      end
    end,
  })
  refresh_now(bufnr)
end

local function on_detach_buffer(client, bufnr)
  pcall(api.nvim_del_augroup_by_name, 'tilelsp.buffer.' .. bufnr)
  pcall(vim.lsp.codelens.clear, client.id, bufnr)
end

-- ------------------------------------------------------------------------------------------ the client

--- The client configuration of options `o` (for vim.lsp.config, or vim.lsp.start with `root_dir` set).
function M.client_config(o, root)
  o = o or M.options or M.defaults
  local capabilities = vim.tbl_deep_extend('force', vim.lsp.protocol.make_client_capabilities(),
    o.capabilities or {}, { workspace = { codeLens = { refreshSupport = true } } })
  return {
    name = M.name,
    cmd = M.server_cmd(o),
    filetypes = { 'python' },
    root_markers = o.root_markers,
    root_dir = root,
    settings = { tilelsp = M.section(o, root) },
    init_options = { tilelsp = M.section(o, root) },
    capabilities = capabilities,
    handlers = { ['workspace/codeLens/refresh'] = on_codelens_refresh },
    -- the root is known only now (vim.lsp.enable resolves it per buffer): a `trusted` function decides here
    before_init = function(params, config)
      local section = M.section(M.options or o, config.root_dir)
      config.settings = config.settings or {}
      config.settings.tilelsp = section -- the same table as client.settings
      config.init_options = { tilelsp = vim.deepcopy(section) }
      params.initializationOptions = config.init_options
    end,
    on_attach = o.on_attach,
  }
end

--- Start (or reuse) the server for a buffer if it is a Python file that imports tilelang.
function M.start(bufnr)
  bufnr = resolve_buf(bufnr)
  if not M.is_tile_buffer(bufnr) or M.client(bufnr) ~= nil then
    return nil
  end
  local o = M.options or M.defaults
  local root = M.root(bufnr)
  local config
  if uses_lsp_config(o) then
    config = vim.deepcopy(vim.lsp.config[M.name]) -- with what the user added with vim.lsp.config()
  else
    config = M.client_config(o, root)
  end
  config.root_dir = root
  return vim.lsp.start(config, { bufnr = bufnr })
end

local function check_options(opts)
  local known = {}
  for _, key in ipairs(M.server_keys) do
    known[key] = true
  end
  for _, key in ipairs(M.plugin_keys) do
    known[key] = true
  end
  for key in pairs(opts) do
    if not known[key] then
      notify(('unknown option %q ignored'):format(tostring(key)), vim.log.levels.WARN)
    end
  end
end

--- Configure and enable the server. Call it again to change settings: running servers get the new ones.
function M.setup(opts)
  opts = opts or {}
  check_options(opts)
  local o = vim.tbl_extend('force', M.defaults, opts)
  M.options = o
  if vim.fn.has('nvim-0.10') == 0 then
    notify('Neovim 0.10 or newer is needed', vim.log.levels.ERROR)
    return
  end

  local group = api.nvim_create_augroup('tilelsp', { clear = true })
  -- an LspAttach/LspDetach callback that calls `fn(client, buf)` for tilelsp's clients only
  local function for_tilelsp(fn)
    return function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.name then
        fn(client, args.buf)
      end
    end
  end
  api.nvim_create_autocmd('LspAttach', {
    group = group,
    desc = 'tilelsp: code lenses',
    callback = for_tilelsp(on_attach_buffer),
  })
  api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = for_tilelsp(on_detach_buffer),
  })
  -- a file that imports tilelang only after it was opened starts the server when it is written
  api.nvim_create_autocmd('BufWritePost', {
    group = group,
    pattern = { '*.py', '*.pyi' },
    desc = 'tilelsp: start for a file that now imports tilelang',
    callback = function(args)
      M.start(args.buf)
    end,
  })

  if uses_lsp_config(o) then
    local config = M.client_config(o)
    config.name = nil
    config.root_dir = function(bufnr, on_dir)
      if M.is_tile_buffer(bufnr) then
        on_dir(M.root(bufnr))
      end
    end
    vim.lsp.config(M.name, config)
    vim.lsp.enable(M.name)
  else
    api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = 'python',
      desc = 'tilelsp: start for Python files that import tilelang',
      callback = function(args)
        M.start(args.buf)
      end,
    })
    for _, bufnr in ipairs(api.nvim_list_bufs()) do
      if api.nvim_buf_is_loaded(bufnr) then
        M.start(bufnr)
      end
    end
  end

  -- settings changed under running servers: they ask for them again (workspace/configuration)
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    client_settings(client).tilelsp = M.section(o, client.root_dir)
    client_notify(client, 'workspace/didChangeConfiguration', { settings = client_settings(client) })
  end
end

-- ------------------------------------------------------------------------------------------ commands

--- workspace/executeCommand on the buffer's tilelsp client; `on_result(result)` with nil on an error.
local function execute(bufnr, command, arguments, on_result)
  local client = M.client(bufnr)
  if client == nil then
    notify('the server is not attached to this buffer (a Python file that imports tilelang)',
      vim.log.levels.ERROR)
    on_result(nil)
    return
  end
  request(client, 'workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      on_result(nil)
    else
      on_result(result ~= vim.NIL and result or nil)
    end
  end, bufnr)
end

--- Compile the buffer's kernels now, as on save (trusted workspaces only). `on_done(answer)` gets the
--- server's answer `{queued, reason}`.
function M.compile(bufnr, on_done)
  bufnr = resolve_buf(bufnr)
  execute(bufnr, 'tilelsp.compile', { vim.uri_from_bufnr(bufnr) }, function(answer)
    if answer and answer.queued == false then
      notify('not compiling: ' .. tostring(answer.reason), vim.log.levels.WARN)
    end
    M.refresh_codelens(bufnr)
    if on_done then
      on_done(answer)
    end
  end)
end

--- The buffer showing `uri` (made read-only scratch, filled with `text`).
local function scratch(uri, text, kind)
  local bufnr
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_get_name(b) == uri then
      bufnr = b
    end
  end
  if bufnr == nil then
    bufnr = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(bufnr, uri)
  end
  local lines = vim.split(text, '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  vim.bo[bufnr].readonly = false
  vim.bo[bufnr].modifiable = true
  api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'hide'
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].modified = false
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].readonly = true
  if KINDS[kind] and vim.bo[bufnr].filetype ~= KINDS[kind] then
    vim.bo[bufnr].filetype = KINDS[kind]
  end
  return bufnr
end

local function show(bufnr)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == bufnr then
      api.nvim_set_current_win(win)
      return
    end
  end
  local open = (M.options or M.defaults).open
  if open == 'current' then
    api.nvim_win_set_buf(0, bufnr)
  elseif open == 'tab' then
    vim.cmd(('tab sbuffer %d'):format(bufnr))
  elseif open == 'split' then
    vim.cmd(('belowright sbuffer %d'):format(bufnr))
  else
    vim.cmd(('vertical belowright sbuffer %d'):format(bufnr))
  end
end

--- Show the code the compiler generates for one kernel of the buffer in a read-only scratch buffer named
--- after its `tilelsp://generated/...` URI. `kind`: cuda | ptx | tir | lowered. `opts`: bufnr, kernel (0-based
--- number among the file's instantiated kernels), arch (default: the first configured arch), on_done(bufnr).
function M.show_generated(kind, opts)
  opts = opts or {}
  local bufnr = resolve_buf(opts.bufnr)
  local done = opts.on_done or function() end
  local args = { vim.uri_from_bufnr(bufnr), kind, opts.kernel or 0 }
  if opts.arch and opts.arch ~= '' then
    table.insert(args, opts.arch)
  end
  execute(bufnr, 'tilelsp.showGenerated', args, function(answer)
    if answer == nil then
      return done(nil)
    end
    if answer.error then
      notify(answer.error, vim.log.levels.ERROR)
      return done(nil)
    end
    local client = M.client(bufnr)
    if client == nil then
      return done(nil)
    end
    request(client, 'tilelsp/generatedDocument', { uri = answer.uri }, function(err, document)
      if err or document == nil or document == vim.NIL then
        notify('no text for ' .. tostring(answer.uri) .. (err and (': ' .. tostring(err.message)) or ''),
          vim.log.levels.ERROR)
        return done(nil)
      end
      local shown = scratch(document.uri, document.text, kind)
      show(shown)
      done(shown)
    end, bufnr)
  end)
end

--- `tilec run --check` for one kernel of the buffer (CPU, random inputs, against the file's ref_program).
--- `on_done(answer)`: `{exitCode, output}` or `{error}`. The server also shows the result as a message.
function M.run_check(opts)
  opts = opts or {}
  local bufnr = resolve_buf(opts.bufnr)
  execute(bufnr, 'tilelsp.runCheck', { vim.uri_from_bufnr(bufnr), opts.kernel or 0 }, function(answer)
    if answer and answer.error then
      notify(answer.error, vim.log.levels.ERROR)
    end
    if opts.on_done then
      opts.on_done(answer)
    end
  end)
end

--- `:TileShowCuda 1 sm_90`: a number is the kernel, anything else the arch.
function M.parse_args(fargs)
  local out = {}
  for _, arg in ipairs(fargs or {}) do
    if arg:match('^%d+$') then
      out.kernel = tonumber(arg)
    else
      out.arch = arg
    end
  end
  return out
end

--- The archs the CUDA back end builds for (compiler/cuda_toolchain.py), for command-line completion.
M.archs = { 'sm_80', 'sm_86', 'sm_89', 'sm_90', 'sm_90a' }

return M
