"""Which files ``tilelint PATH...`` checks.

:func:`collect` turns the command-line paths into the sorted list of Python
files to analyse:

* A path that names a file is always checked, whatever its name, even when an
  exclude pattern or a ``.gitignore`` matches it (the user asked for it).
* A path that names a folder is walked recursively with :func:`os.scandir`.
  The folder itself is walked even if its name is excluded; below it, entries
  whose name or relative path matches an exclude pattern, or that a
  ``.gitignore`` ignores, are skipped (folders with everything inside them).
  Only regular files ending in ``.py`` are picked up. Symbolic links to
  folders are not followed; symbolic links to files are checked like files.
* A path that does not exist becomes an error ``(path, message)``, as does a
  folder that cannot be read during the walk; the other paths are still
  collected.

Exclude patterns
----------------
:data:`DEFAULT_EXCLUDES` plus the ``exclude`` argument (which adds to the
defaults, it does not replace them). Each is a glob with the wildcards of
``.gitignore`` below (``*``, ``?``, ``[seq]``, ``[!seq]``, ``**``; only ``**``
crosses ``/``). A pattern without ``/`` is matched against each name met
during the walk, hence against every component of a path below the walked
folder. A pattern with ``/`` is matched against the entry's whole path
relative to the walked folder and, when the entry lies below the current
directory, against its path relative to the current directory, both in POSIX
form (``examples/buggy`` excludes that folder for ``tilelint .`` and for
``tilelint examples``). Leading and trailing ``/`` are ignored. An excluded
folder is skipped with everything inside it.

``.gitignore`` subset
---------------------
The ``.gitignore`` of every walked folder applies to the entries below it. When
the walked folder lies inside a Git work tree (an ancestor holds ``.git``), the
``.gitignore`` files of the folders between the top of the work tree and the
walked folder apply as well. Within that, the rules follow gitignore(5):

* blank lines and lines starting with ``#`` are skipped; ``\\#`` and ``\\!``
  start a pattern with a literal ``#`` or ``!``; trailing spaces are dropped
  unless escaped with ``\\``;
* ``!pattern`` re-includes what an earlier pattern ignored, but nothing is
  re-included below an ignored folder (the walk never enters it);
* a trailing ``/`` matches folders only;
* a pattern with a ``/`` at its start or middle is anchored to the folder of
  its ``.gitignore``; otherwise it matches a name at any depth;
* ``*`` and ``?`` do not match ``/``; ``[...]`` is a character class
  (``[!...]`` negated); ``\\x`` matches ``x`` literally;
* a leading ``**/`` matches in any folder, a trailing ``/**`` matches
  everything inside, ``/**/`` matches zero or more folders; other runs of
  ``*`` act like a single ``*``;
* of all the patterns that match, the last one wins, patterns of a deeper
  ``.gitignore`` coming after those of a shallower one.

Not supported: ``.git/info/exclude``, the global ``core.excludesFile``, and
Git's index (a tracked file that a ``.gitignore`` matches is still skipped).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_EXCLUDES", "collect", "GitIgnore"]

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "build",
    "dist",
    "__pycache__",
    "node_modules",
    ".tilelint_cache",
    ".mypy_cache",
    ".pytest_cache",
    "*.egg-info",
    "site-packages",
)

_MISSING = "No such file or directory"


def collect(
    paths: Sequence[str], exclude: Sequence[str] = ()
) -> tuple[list[str], list[tuple[str, str]]]:
    """The Python files to check for ``paths``, and the paths in error.

    Returns ``(files, errors)``: ``files`` sorted and without duplicates
    (the same file reached twice, under any spelling, is listed once, under
    the first spelling met); ``errors`` as ``(path, message)`` pairs in the
    order met. Files found in a folder are reported as the folder's path
    joined with their relative path, normalised (``./a/b.py`` becomes
    ``a/b.py``). See the module documentation for the exclusion rules.
    """
    excludes = _Excludes(tuple(DEFAULT_EXCLUDES) + tuple(exclude))
    found: dict[str, str] = {}  # identity -> display path
    errors: list[tuple[str, str]] = []

    def add(display: str) -> None:
        found.setdefault(os.path.normcase(os.path.abspath(display)), display)

    for raw in paths:
        path = os.path.normpath(raw) if raw else raw
        if not raw or not os.path.exists(path):
            errors.append((raw, _MISSING))
        elif os.path.isdir(path):
            for item in _walk(path, excludes, errors):
                add(item)
        else:
            add(path)
    return sorted(found.values()), errors


# --------------------------------------------------------------------------- excludes


class _Excludes:
    """The exclude globs, split by what they are matched against."""

    def __init__(self, patterns: Sequence[str]) -> None:
        name_globs: list[str] = []
        path_globs: list[str] = []
        for pattern in patterns:
            pattern = pattern.replace(os.sep, "/").strip("/")
            if not pattern:
                continue
            regex = _segments_regex(_split_segments(pattern), anchored=True)
            (path_globs if "/" in pattern else name_globs).append(regex)
        self._name = _compile_any(name_globs)
        self._path = _compile_any(path_globs)

    def match(self, name: str, rel_paths: Sequence[str]) -> bool:
        if self._name is not None and self._name.match(name):
            return True
        return self._path is not None and any(self._path.match(p) for p in rel_paths)


def _compile_any(regexes: Sequence[str]) -> re.Pattern[str] | None:
    if not regexes:
        return None
    return re.compile("|".join(f"(?:{regex})" for regex in regexes))


# --------------------------------------------------------------------------- .gitignore


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


class GitIgnore:
    """The patterns of one ``.gitignore`` file (the subset in the module doc).

    Paths given to :meth:`match` are POSIX paths relative to the folder that
    holds the file.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        self._rules: list[_Rule] = []
        for line in lines:
            rule = _parse_line(line)
            if rule is not None:
                self._rules.append(rule)

    @classmethod
    def read(cls, folder: str) -> GitIgnore | None:
        """The ``.gitignore`` of ``folder``, or ``None`` when it has none."""
        try:
            with open(
                os.path.join(folder, ".gitignore"), encoding="utf-8", errors="replace"
            ) as handle:
                ignore = cls(handle.read().splitlines())
        except OSError:
            return None
        return ignore if ignore._rules else None

    def match(self, rel_path: str, is_dir: bool) -> bool | None:
        """``True`` if ignored, ``False`` if re-included, ``None`` if no pattern matches."""
        for rule in reversed(self._rules):
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(rel_path):
                return not rule.negated
        return None


def _parse_line(line: str) -> _Rule | None:
    line = line.rstrip("\r\n")
    if not line or line.startswith("#"):
        return None
    # Trailing spaces are dropped unless the last one is escaped.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    line = line.rstrip("/") if dir_only else line
    if not line:
        return None
    anchored = "/" in line
    segments = _split_segments(line)
    if not segments:
        return None
    return _Rule(re.compile(_segments_regex(segments, anchored)), negated, dir_only)


def _split_segments(pattern: str) -> list[str]:
    """The ``/``-separated segments of a glob, runs of ``**`` collapsed."""
    segments: list[str] = []
    for segment in pattern.split("/"):
        if not segment:  # "a//b" means "a/b"
            continue
        if segment == "**" and segments and segments[-1] == "**":
            continue  # "**/**" means the same as "**"
        segments.append(segment)
    return segments


def _segments_regex(segments: list[str], anchored: bool) -> str:
    if segments == ["**"]:
        return r"\A.+\Z"
    body = ""
    lead = "" if anchored else "(?:.*/)?"
    if segments[0] == "**":
        lead = "(?:.*/)?"
        segments = segments[1:]
    trail = ""
    if segments[-1] == "**":
        trail = "/.+"
        segments = segments[:-1]
    pending_sep = ""
    for segment in segments:
        if segment == "**":
            pending_sep = "/(?:.*/)?"
            continue
        if body:
            body += pending_sep or "/"
        body += _glob_segment(segment)
        pending_sep = ""
    return rf"\A{lead}{body}{trail}\Z"


def _glob_segment(segment: str) -> str:
    """Translate one path segment of a gitignore glob to a regex."""
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        char = segment[i]
        if char == "\\" and i + 1 < n:
            out.append(re.escape(segment[i + 1]))
            i += 2
        elif char == "*":
            while i < n and segment[i] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = _class_end(segment, i)
            if end < 0:
                out.append(re.escape(char))
                i += 1
            else:
                inner = segment[i + 1 : end]
                negate = inner[:1] in ("!", "^")
                if negate:
                    inner = inner[1:]
                # Escape everything but range dashes so that no character of
                # the class means anything special to the regex engine.
                members = "".join(c if c == "-" else re.escape(c) for c in inner)
                out.append(f"[^/{members}]" if negate else f"[{members}]")
                i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1."""
    i = start + 1
    if i < len(segment) and segment[i] in "!^":
        i += 1
    if i < len(segment) and segment[i] == "]":  # "[]...]": a leading ] is literal
        i += 1
    while i < len(segment):
        if segment[i] == "]":
            return i
        i += 1
    return -1


@dataclass(frozen=True)
class _Scope:
    """A ``.gitignore`` and how to express a walk path relative to its folder.

    For a file inside the walked tree ``strip`` is its folder's path relative
    to the walk root plus ``/`` (empty at the root); for a file in an
    ancestor of the root, ``lead`` is the root's path relative to that
    ancestor plus ``/``.
    """

    ignore: GitIgnore
    strip: str = ""
    lead: str = ""

    def relative(self, rel: str) -> str:
        return self.lead + rel[len(self.strip) :]


def _ancestor_scopes(root: str) -> list[_Scope]:
    """The ``.gitignore`` files above ``root`` up to its Git work-tree top."""
    here = os.path.abspath(root)
    if os.path.exists(os.path.join(here, ".git")):
        return []  # root is the top of its work tree
    chain: list[str] = []
    folder = os.path.dirname(here)
    while True:
        chain.append(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            return []  # not inside a Git work tree
        folder = parent
    scopes: list[_Scope] = []
    for folder in reversed(chain):  # shallowest first
        ignore = GitIgnore.read(folder)
        if ignore is not None:
            lead = os.path.relpath(here, folder).replace(os.sep, "/") + "/"
            scopes.append(_Scope(ignore, lead=lead))
    return scopes


def _ignored(scopes: Sequence[_Scope], rel: str, is_dir: bool) -> bool:
    """Whether the walk path ``rel`` is ignored; deeper files override shallower."""
    for scope in reversed(scopes):
        verdict = scope.ignore.match(scope.relative(rel), is_dir)
        if verdict is not None:
            return verdict
    return False


# --------------------------------------------------------------------------- walk


def _cwd_relative_prefix(root: str) -> str | None:
    """``root`` relative to the current directory in POSIX form plus ``/``.

    ``""`` for the current directory itself, ``None`` when ``root`` is not
    below it.
    """
    try:
        rel = os.path.relpath(os.path.abspath(root), os.getcwd())
    except ValueError:  # another drive on Windows
        return None
    if rel == os.curdir:
        return ""
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel.replace(os.sep, "/") + "/"


def _walk(root: str, excludes: _Excludes, errors: list[tuple[str, str]]) -> Iterator[str]:
    """The ``.py`` files below ``root`` that are neither excluded nor ignored."""
    cwd_prefix = _cwd_relative_prefix(root)
    base_scopes = _ancestor_scopes(root)
    # Each stack entry: (folder on disk, its path relative to root with a
    # trailing "/" or "" for root, the .gitignore scopes that apply inside).
    stack: list[tuple[str, str, list[_Scope]]] = [(root, "", base_scopes)]
    while stack:
        folder, rel_folder, scopes = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = list(entries)
        except OSError as exc:
            errors.append((os.path.normpath(folder), exc.strerror or str(exc)))
            continue
        if any(entry.name == ".gitignore" for entry in listing):
            own = GitIgnore.read(folder)
            if own is not None:
                scopes = [*scopes, _Scope(own, strip=rel_folder)]
        for entry in listing:
            rel = rel_folder + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if not is_dir and not (is_file and entry.name.endswith(".py")):
                continue
            candidates = [rel] if cwd_prefix is None else [rel, cwd_prefix + rel]
            if excludes.match(entry.name, candidates):
                continue
            if scopes and _ignored(scopes, rel, is_dir):
                continue
            if is_dir:
                stack.append((entry.path, rel + "/", scopes))
            else:
                yield os.path.normpath(entry.path)
