#!/usr/bin/env python3
"""`lower_with_tilelang.py`, plus the CUDA source of every lowering.

Runs under the TileLang python, exactly like ``lower_with_tilelang.py`` (same
requests, same options, same JSON lines), and adds:

* ``result[arch]["cuda_source"]``: a file holding ``art.kernel_source`` of that
  lowering, written to ``$TL_ORACLE_CUDA_DIR`` as ``req<index>-<arch>.cu``
  (nothing is written when the variable is unset);
* ``result[arch]["nvcc_includes"]``: the include folders TileLang passes to
  nvcc (its ``tl_templates`` and CUTLASS), so the caller can compile the file
  the way TileLang would;
* a location for exceptions without a message (a bare ``assert`` in TileLang
  gives just "AssertionError"): "AssertionError: at tilelang/x.py:12: assert ...";
* ``import_notes`` on a record: the module-level statements the child had to
  skip while importing the file (an ``@T.prim_func`` whose body TileLang's
  parser rejects shows up here, and only as "module has no attribute" in the
  record itself).

It reuses ``lower_with_tilelang.py`` instead of copying it: the child class is
extended, and the runner starts this script for its children.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lower_with_tilelang as base  # noqa: E402


class _SourceDumpingChild(base._Child):
    def emit(self, obj) -> None:
        if obj.get("event") == "done" and self.skipped:
            obj["record"]["import_notes"] = list(self.skipped)
        super().emit(obj)

    def _lower_one(self, obj, jit, kwargs, arch, extra_pc, record):
        import tilelang

        captured = []
        real_lower = tilelang.lower

        def spy(*args, **kw):
            art = real_lower(*args, **kw)
            captured.append(art)
            return art

        tilelang.lower = spy
        try:
            out = super()._lower_one(obj, jit, kwargs, arch, extra_pc, record)
        except Exception as exc:
            if str(exc).strip():
                raise
            # a bare `assert` in TileLang: say where it is, the message alone is just "AssertionError"
            raise _with_location(exc) from exc
        finally:
            tilelang.lower = real_lower
        folder = os.environ.get("TL_ORACLE_CUDA_DIR")
        if captured and folder:
            source = getattr(captured[-1], "kernel_source", None)
            if source:
                path = os.path.join(folder, f"req{record['index']}-{arch}.cu")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(source)
                out["cuda_source"] = path
                try:
                    from tilelang.env import CUTLASS_INCLUDE_DIR, TILELANG_TEMPLATE_PATH

                    out["nvcc_includes"] = [p for p in (TILELANG_TEMPLATE_PATH, CUTLASS_INCLUDE_DIR) if p]
                except Exception:  # pragma: no cover - other TileLang layouts
                    out["nvcc_includes"] = []
        return out


def _with_location(exc: BaseException) -> BaseException:
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return exc
    last = frames[-1]
    where = last.filename.split("site-packages/", 1)[-1]
    text = f"at {where}:{last.lineno}" + (f": {last.line.strip()}" if last.line else "")
    try:
        return type(exc)(text)
    except Exception:  # an exception type that wants other arguments
        return RuntimeError(f"{type(exc).__name__} {text}")


def main(argv=None) -> int:
    # base.child_main builds base._Child; base._Runner starts base.__file__ with --child.
    base._Child = _SourceDumpingChild
    base.__file__ = os.path.abspath(__file__)
    return base.main(argv)


if __name__ == "__main__":
    sys.exit(main())
