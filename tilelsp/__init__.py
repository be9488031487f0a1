"""tilelsp: the language server and command-line adapters over the analyzer."""

#: The one place the version is written: pyproject.toml reads it ([tool.setuptools.dynamic]), and
#: `tilelint`/`tilelsp`/`tilec --version` print it; tests/test_release.py checks that the VS Code
#: extension's package.json and CHANGELOG.md say the same.
__version__ = "0.1.0"
