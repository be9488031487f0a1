"""Tests for tilelsp.files: which files `tilelint PATH...` checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tilelsp.files import DEFAULT_EXCLUDES, GitIgnore, collect


def make_tree(root: Path, spec: dict[str, str]) -> None:
    """Create files (text) below root; a key ending in "/" makes a folder."""
    for name, text in spec.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def rel(files: list[str], root: Path) -> list[str]:
    return [Path(f).relative_to(root).as_posix() for f in files]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    make_tree(
        tmp_path,
        {
            "a.py": "",
            "notes.txt": "",
            "stub.pyi": "",
            "pkg/b.py": "",
            "pkg/sub/c.py": "",
            "pkg/data.json": "",
            "build/gen.py": "",
            "dist/d.py": "",
            ".venv/lib/e.py": "",
            "venv/f.py": "",
            "tilelsp.egg-info/g.py": "",
            "node_modules/h.py": "",
            "pkg/__pycache__/b.cpython-311.py": "",
            "lib/site-packages/i.py": "",
            ".git/hooks/j.py": "",
        },
    )
    return tmp_path


# --------------------------------------------------------------------------- walking


def test_walk_default_excludes_and_only_py(tree: Path) -> None:
    files, errors = collect([str(tree)])
    assert errors == []
    assert rel(files, tree) == ["a.py", "pkg/b.py", "pkg/sub/c.py"]


def test_default_excludes_cover_the_brief() -> None:
    assert {"build", "*.egg-info", ".tilelint_cache", "site-packages"} <= set(DEFAULT_EXCLUDES)


def test_output_is_sorted_and_normalised(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    files, _ = collect(["."])
    expected = ["a.py", os.path.join("pkg", "b.py"), os.path.join("pkg", "sub", "c.py")]
    assert files == sorted(files) == expected


def test_user_excludes_add_to_defaults(tree: Path) -> None:
    files, _ = collect([str(tree)], exclude=["sub"])
    assert rel(files, tree) == ["a.py", "pkg/b.py"]
    files, _ = collect([str(tree)], exclude=["b*.py"])
    assert rel(files, tree) == ["a.py", "pkg/sub/c.py"]


def test_path_excludes_relative_to_root_and_cwd(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    # Relative to the walked folder.
    files, _ = collect(["pkg"], exclude=["sub/"])
    assert files == [os.path.join("pkg", "b.py")]
    # Relative to the current directory, whichever folder is walked.
    for root in (".", "pkg"):
        files, _ = collect([root], exclude=["pkg/sub"])
        assert os.path.join("pkg", "sub", "c.py") not in files
        assert os.path.join("pkg", "b.py") in files
    # "*" stays within one folder, "**" crosses folders.
    files, _ = collect(["."], exclude=["pkg/*.py"])
    assert files == ["a.py", os.path.join("pkg", "sub", "c.py")]
    files, _ = collect(["."], exclude=["pkg/**/c.py", "/a.py"])
    assert files == [os.path.join("pkg", "b.py")]


def test_explicit_files_are_always_checked(tree: Path) -> None:
    explicit = [tree / "build" / "gen.py", tree / ".venv" / "lib" / "e.py", tree / "notes.txt"]
    files, errors = collect([str(p) for p in explicit], exclude=["gen.py", "notes.txt"])
    assert errors == []
    assert rel(files, tree) == [".venv/lib/e.py", "build/gen.py", "notes.txt"]


def test_explicit_folder_is_walked_even_if_excluded(tree: Path) -> None:
    files, _ = collect([str(tree / "build")])
    assert rel(files, tree) == ["build/gen.py"]


def test_nonexistent_paths_are_errors(tree: Path) -> None:
    missing = str(tree / "nope")
    files, errors = collect([missing, str(tree / "a.py"), "", str(tree / "gone.py")])
    assert rel(files, tree) == ["a.py"]
    assert errors == [
        (missing, "No such file or directory"),
        ("", "No such file or directory"),
        (str(tree / "gone.py"), "No such file or directory"),
    ]


def test_duplicates_are_removed(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    files, _ = collect(["pkg", "./pkg/b.py", str(tree / "pkg" / "b.py"), "pkg/sub", "pkg//sub/"])
    assert files == [os.path.join("pkg", "b.py"), os.path.join("pkg", "sub", "c.py")]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    make_tree(tmp_path, {"real/k.py": "", "proj/m.py": ""})
    try:
        (tmp_path / "proj" / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
        (tmp_path / "proj" / "alias.py").symlink_to(tmp_path / "real" / "k.py")
        (tmp_path / "proj" / "broken.py").symlink_to(tmp_path / "missing.py")
    except OSError:
        pytest.skip("cannot create symlinks here")
    files, errors = collect([str(tmp_path / "proj")])
    assert errors == []
    assert rel(files, tmp_path) == ["proj/alias.py", "proj/m.py"]


# --------------------------------------------------------------------------- .gitignore


def test_gitignore_in_walked_folders(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            ".gitignore": "\n".join(
                [
                    "# generated code",
                    "gen/",
                    "!gen/keep.py",  # cannot re-include below an ignored folder
                    "*_pb2.py",
                    "!keep_pb2.py",
                    "/top_only.py",
                    "docs/**/skip.py",
                    "cache/**",
                    "logs",
                    "",
                ]
            ),
            "main.py": "",
            "gen/g.py": "",
            "gen/keep.py": "",
            "src/gen/h.py": "",
            "src/gen.py": "",  # "gen/" matches folders only
            "x_pb2.py": "",
            "src/y_pb2.py": "",
            "keep_pb2.py": "",
            "top_only.py": "",
            "src/top_only.py": "",
            "docs/skip.py": "",
            "docs/a/b/skip.py": "",
            "docs/keep.py": "",
            "cache/c.py": "",
            "cache/deep/d.py": "",
            "logs/l.py": "",
            "src/logs": "a file named logs",
        },
    )
    files, _ = collect([str(tmp_path)])
    assert rel(files, tmp_path) == [
        "docs/keep.py",
        "keep_pb2.py",
        "main.py",
        "src/gen.py",
        "src/top_only.py",
    ]


def test_nested_gitignore_overrides_and_anchors(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            ".gitignore": "*_pb2.py\nlocal.py\n",
            "sub/.gitignore": "!x_pb2.py\n/only_here.py\n",
            "x_pb2.py": "",
            "sub/x_pb2.py": "",
            "sub/z_pb2.py": "",
            "sub/local.py": "",
            "sub/only_here.py": "",
            "sub/deeper/only_here.py": "",
            "other/only_here.py": "",
        },
    )
    files, _ = collect([str(tmp_path)])
    assert rel(files, tmp_path) == [
        "other/only_here.py",
        "sub/deeper/only_here.py",
        "sub/x_pb2.py",
    ]


def test_gitignore_of_ancestors_inside_a_work_tree(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "repo/.git/": "",
            "repo/.gitignore": "src/generated/\n*.tmp.py\n",
            "repo/src/.gitignore": "/vendored/\n",
            "repo/src/ok.py": "",
            "repo/src/x.tmp.py": "",
            "repo/src/generated/g.py": "",
            "repo/src/vendored/v.py": "",
            "repo/src/pkg/vendored/w.py": "",
        },
    )
    src = tmp_path / "repo" / "src"
    files, _ = collect([str(src)])
    assert rel(files, src) == ["ok.py", "pkg/vendored/w.py"]
    pkg = src / "pkg"
    files, _ = collect([str(pkg)])  # src/.gitignore's "/vendored/" is anchored to src/
    assert rel(files, pkg) == ["vendored/w.py"]


def test_gitignore_of_ancestors_outside_a_work_tree_is_ignored(tmp_path: Path) -> None:
    make_tree(tmp_path, {".gitignore": "*.py\n", "proj/a.py": ""})
    files, _ = collect([str(tmp_path / "proj")])
    assert rel(files, tmp_path) == ["proj/a.py"]


def test_gitignored_file_named_explicitly_is_checked(tmp_path: Path) -> None:
    make_tree(tmp_path, {".gitignore": "gen/\n", "gen/g.py": ""})
    files, _ = collect([str(tmp_path / "gen" / "g.py"), str(tmp_path)])
    assert rel(files, tmp_path) == ["gen/g.py"]


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        # Unanchored names match at any depth.
        ("foo.py", "foo.py", False, True),
        ("foo.py", "a/b/foo.py", False, True),
        ("foo.py", "a/foo.py.bak", False, None),
        # Leading or middle slash anchors to the .gitignore's folder.
        ("/foo.py", "foo.py", False, True),
        ("/foo.py", "a/foo.py", False, None),
        ("a/foo.py", "a/foo.py", False, True),
        ("a/foo.py", "x/a/foo.py", False, None),
        # Trailing slash: folders only.
        ("out/", "out", True, True),
        ("out/", "out", False, None),
        ("out/", "x/out", True, True),
        # Wildcards stop at "/".
        ("*.py", "a/b.py", False, True),
        ("a/*.py", "a/b/c.py", False, None),
        ("a?c.py", "abc.py", False, True),
        ("a?c.py", "a/c.py", False, None),
        ("[ab]x.py", "bx.py", False, True),
        ("[!ab]x.py", "cx.py", False, True),
        ("[!ab]x.py", "ax.py", False, None),
        ("[a-c]x.py", "bx.py", False, True),
        ("[a.py", "[a.py", False, True),  # unclosed class is literal
        # Double stars.
        ("**/foo", "foo", True, True),
        ("**/foo", "a/b/foo", False, True),
        ("**/a/foo", "x/a/foo", False, True),
        ("a/**", "a/x", False, True),
        ("a/**", "a/x/y.py", False, True),
        ("a/**", "a", True, None),
        ("a/**/b", "a/b", True, True),
        ("a/**/b", "a/x/y/b", True, True),
        ("a/**/b", "a/xb", True, None),
        ("a/**/**/b", "a/b", True, True),
        ("x**y.py", "xzzy.py", False, True),  # "**" inside a name is a "*"
        ("x**y.py", "x/y.py", False, None),
        ("**", "anything/at/all", False, True),
        # Escapes, comments, negation, trailing spaces.
        ("\\#hash.py", "#hash.py", False, True),
        ("#hash.py", "#hash.py", False, None),
        ("\\!bang.py", "!bang.py", False, True),
        ("!keep.py", "keep.py", False, False),
        ("sp.py   ", "sp.py", False, True),
        ("sp.py\\ ", "sp.py ", False, True),
        ("", "x", False, None),
        ("a+b(c).py", "a+b(c).py", False, True),  # regex characters are literal
    ],
)
def test_gitignore_pattern(pattern: str, path: str, is_dir: bool, expected: bool | None) -> None:
    assert GitIgnore([pattern]).match(path, is_dir) is expected


def test_gitignore_last_match_wins() -> None:
    ignore = GitIgnore(["*.py", "!keep*.py", "keep_not.py"])
    assert ignore.match("a.py", False) is True
    assert ignore.match("keep.py", False) is False
    assert ignore.match("keep_not.py", False) is True
