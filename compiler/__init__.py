"""The tilelsp compiler for tile kernels, built on apache-tvm (`tvm.tirx`).

Not built yet: the front end, the tile IR, its passes and the CPU and CUDA
back ends arrive with their own issues. Nothing in the analyzer or the
language server imports this package.
"""
