"""Lowering passes, each a plain function IRModule -> IRModule (see `compiler/pipeline.py`)."""
