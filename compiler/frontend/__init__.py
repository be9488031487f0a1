"""The TileLang-compatible front end: the `T.*` surface, the tracer, `@jit`."""
