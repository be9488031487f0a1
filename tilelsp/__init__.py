"""tilelsp: the language server and command-line adapters over the analyzer."""

__version__ = "0.1.0"
