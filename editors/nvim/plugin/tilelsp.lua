-- tilelsp's user commands. The server itself starts only after require('tilelsp').setup{...}.
if vim.g.loaded_tilelsp then
  return
end
vim.g.loaded_tilelsp = 1

local function tilelsp()
  return require('tilelsp')
end

local function complete_args(arglead)
  local items = { '0', '1', '2' }
  vim.list_extend(items, tilelsp().archs)
  return vim.tbl_filter(function(item)
    return item:find(arglead, 1, true) == 1
  end, items)
end

vim.api.nvim_create_user_command('TileCompile', function()
  tilelsp().compile(0)
end, { nargs = 0, desc = 'tilelsp: compile the kernels of this file now (trusted workspaces only)' })

local generated = {
  TileShowCuda = { 'cuda', 'the CUDA source' },
  TileShowPtx = { 'ptx', 'the PTX (needs nvcc)' },
  TileShowTir = { 'tir', 'the tile IR (TVMScript)' },
  TileShowLowered = { 'lowered', 'the lowered IR' },
}
for name, what in pairs(generated) do
  vim.api.nvim_create_user_command(name, function(args)
    local opts = tilelsp().parse_args(args.fargs)
    tilelsp().show_generated(what[1], { bufnr = 0, kernel = opts.kernel, arch = opts.arch })
  end, {
    nargs = '*',
    complete = complete_args,
    desc = 'tilelsp: show ' .. what[2] .. ' of a kernel: [kernel number] [arch]',
  })
end

vim.api.nvim_create_user_command('TileRunCheck', function(args)
  local opts = tilelsp().parse_args(args.fargs)
  tilelsp().run_check({ bufnr = 0, kernel = opts.kernel })
end, {
  nargs = '?',
  desc = "tilelsp: run a kernel on the CPU against the file's ref_program: [kernel number]",
})
