-- :checkhealth tilelsp
local M = {}

local health = vim.health

local PROBE = [[
import json, sys
out = {"python": sys.executable, "python_version": sys.version.split()[0]}
try:
    import tilelsp
    out["tilelsp"] = tilelsp.__version__
except Exception as err:
    out["tilelsp_error"] = f"{type(err).__name__}: {err}"
try:
    import tvm
    out["tvm"] = getattr(tvm, "__version__", "?")
except Exception as err:
    out["tvm_error"] = f"{type(err).__name__}: {err}"
try:
    from compiler.cuda_toolchain import find_nvcc
    out["nvcc"] = find_nvcc()
except Exception as err:
    out["nvcc_error"] = f"{type(err).__name__}: {err}"
print(json.dumps(out))
]]

local TIMEOUT_MS = 60000

local function run(cmd)
  local ok, job = pcall(vim.system, cmd, { text = true })
  if not ok then
    return { code = -1, stdout = '', stderr = tostring(job) }
  end
  local result = job:wait(TIMEOUT_MS)
  return { code = result.code, stdout = result.stdout or '', stderr = result.stderr or '' }
end

local function first_line(text)
  return (vim.trim(text or ''):match('[^\n]*')) or ''
end

--- The server command with `--version` instead of the transport flags.
local function version_cmd(cmd)
  local out = {}
  for _, arg in ipairs(cmd) do
    if arg ~= '--stdio' then
      table.insert(out, arg)
    end
  end
  table.insert(out, '--version')
  return out
end

--- The interpreter the server (and its compile worker) runs on: `python` of setup{}, the first word of a
--- `cmd` that runs `-m tilelsp`, or the interpreter named in the `#!` line of a `tilelsp` script.
local function interpreter(o, cmd)
  if o.cmd == nil then
    return cmd[1] -- `python` of setup{}
  end
  if vim.tbl_contains(cmd, '-m') then
    return cmd[1]
  end
  local script = vim.fn.exepath(cmd[1])
  if script ~= '' then
    local ok, lines = pcall(vim.fn.readfile, script, '', 1)
    local shebang = ok and lines[1] or ''
    local path = shebang:match('^#!%s*(%S+)')
    if path then
      if path:match('/env$') then
        return shebang:match('^#!%s*%S+%s+(%S+)') or o.python or 'python3'
      end
      return path
    end
  end
  return o.python or 'python3'
end

function M.check()
  local tilelsp = require('tilelsp')
  local o = tilelsp.options or tilelsp.defaults

  health.start('tilelsp: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. version .. ': the server is registered with vim.lsp.config() and vim.lsp.enable()')
  elseif vim.fn.has('nvim-0.10') == 1 then
    health.ok('Neovim ' .. version .. ': the server is started with vim.lsp.start() from a FileType autocmd')
  else
    health.error('Neovim ' .. version .. ' is too old', { 'tilelsp needs Neovim 0.10 or newer' })
  end
  if tilelsp.options == nil then
    health.warn('setup() has not been called: the server does not start', { "require('tilelsp').setup({})" })
  else
    health.ok('setup() called')
  end

  health.start('tilelsp: server')
  local cmd = tilelsp.server_cmd(o)
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(('server command %s: %s is not executable'):format(table.concat(cmd, ' '), cmd[1]), {
      "set setup{ python = '/path/to/venv/bin/python' } to the interpreter tilelsp is installed in",
      "or setup{ cmd = { '/path/to/venv/bin/tilelsp', '--stdio' } }",
    })
  else
    health.ok(('server command: %s (%s)'):format(table.concat(cmd, ' '), exe))
    local answer = run(version_cmd(cmd))
    local text = first_line(answer.stdout ~= '' and answer.stdout or answer.stderr)
    if answer.code == 0 and text:match('^tilelsp ') then
      health.ok('server runs: ' .. text)
    else
      health.error(('`%s` failed (exit %s): %s'):format(table.concat(version_cmd(cmd), ' '), tostring(answer.code),
        first_line(answer.stderr ~= '' and answer.stderr or answer.stdout)),
        { "pip install tilelsp into that interpreter, or set setup{ python = ... } / setup{ cmd = ... }" })
    end
  end

  health.start('tilelsp: compiler')
  local python = interpreter(o, cmd)
  local probe = run({ python, '-c', PROBE })
  local facts = nil
  if probe.code == 0 then
    local ok, decoded = pcall(vim.json.decode, vim.trim(probe.stdout):match('[^\n]*$'))
    facts = ok and decoded or nil
  end
  if facts == nil then
    health.error(('interpreter %s does not run: %s'):format(python,
      first_line(probe.stderr ~= '' and probe.stderr or probe.stdout)))
  else
    health.ok(('interpreter: %s (Python %s)'):format(facts.python, facts.python_version))
    if facts.tvm then
      health.ok('tvm ' .. facts.tvm .. ' imports (the compiler: compile on save, :TileShowCuda, :TileRunCheck)')
    else
      health.error('tvm does not import: ' .. tostring(facts.tvm_error),
        { 'the compiler needs apache-tvm: pip install apache-tvm (a dependency of tilelsp)' })
    end
  end
  local nvcc = vim.fn.exepath('nvcc')
  if nvcc ~= '' then
    local release = run({ nvcc, '--version' }).stdout:match('release ([%d%.]+)')
    health.ok(('nvcc on PATH: %s%s (CUDA builds: registers, spills, ptxas shared memory; :TileShowPtx)')
      :format(nvcc, release and (', release ' .. release) or ''))
  elseif facts and facts.nvcc and facts.nvcc ~= vim.NIL then
    health.ok(('nvcc is not on PATH, the compiler finds %s (CUDA_HOME or /usr/local/cuda)'):format(facts.nvcc))
  else
    health.warn('nvcc not found: compileTarget "auto" builds for the CPU, :TileShowPtx fails', {
      'install the CUDA toolkit and put its bin/ on PATH (or set CUDA_HOME) for CUDA builds',
      ':TileShowCuda works without nvcc',
    })
  end

  if o.compileBackend == 'tilelang' or o.compileBackend == 'both' then
    local tl_python = o.tilelangPython and vim.fs.normalize(o.tilelangPython)
    if tl_python == nil or vim.fn.exepath(tl_python) == '' then
      health.error(('compileBackend = %q needs tilelangPython, an interpreter with TileLang installed (got %s)')
        :format(o.compileBackend, tostring(tl_python)))
    else
      local answer = run({ tl_python, '-c', 'import tilelang; print(tilelang.__version__)' })
      if answer.code == 0 then
        health.ok(('tilelangPython %s: TileLang %s'):format(tl_python, first_line(answer.stdout)))
      else
        health.error(('tilelangPython %s does not import tilelang: %s'):format(tl_python,
          vim.trim(answer.stderr):match('[^\n]*$') or ''))
      end
    end
  end

  health.start('tilelsp: trust')
  if type(o.trusted) == 'function' then
    health.info('trusted is a function: each workspace root is asked when its server starts')
  elseif o.trusted == true then
    health.ok('trusted = true: compile on save runs the compiler, which executes the module of each file it '
      .. 'compiles (its module-level code)')
  else
    health.warn('trusted = false: no compile on save, no :TileCompile / :TileShowCuda / :TileRunCheck '
      .. '(diagnostics, hovers and the rest work)', {
      'compiling executes the file\'s module: set setup{ trusted = true } only for code you trust',
      'or setup{ trusted = function(root) return root == vim.fs.normalize("~/src/kernels") end }',
    })
  end
  local clients = vim.lsp.get_clients({ name = tilelsp.name })
  if #clients == 0 then
    health.info('no tilelsp server is running (it starts for Python files that import tilelang)')
  end
  for _, client in ipairs(clients) do
    local settings = client.settings or (client.config and client.config.settings) or {}
    local trusted = (settings.tilelsp or {}).trusted == true
    local info = client.server_info or {}
    local line = ('server %d (%s %s) for %s: workspace %s'):format(client.id, info.name or '?',
      info.version or '?', client.root_dir or '(no root)', trusted and 'trusted' or 'not trusted')
    if trusted then
      health.ok(line)
    else
      health.info(line)
    end
  end
end

return M
