"""Exclude patterns: names anywhere, absolute path globs, ** across directories."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadang.repo.excludes import ExcludeFilter

CASES = [
    # pattern, path, excluded?
    ("*.tmp", "/home/u/a.tmp", True),
    ("*.tmp", "/a.tmp", True),
    ("*.tmp", "/home/u/a.tmp.txt", False),
    ("*.tmp", "/home/x.tmp/file", False),  # the directory itself is excluded, not entered
    ("node_modules", "/srv/app/node_modules", True),
    ("node_modules", "/srv/app/node_modules_old", False),
    ("cache", "/cache", True),
    ("?.log", "/var/a.log", True),
    ("?.log", "/var/ab.log", False),
    ("?.txt", "/d/é.txt", True),  # ? is one character, not one byte
    ("[abc].txt", "/d/b.txt", True),
    ("[abc].txt", "/d/d.txt", False),
    ("[!abc].txt", "/d/d.txt", True),
    ("[!abc].txt", "/d/a.txt", False),
    ("*", "/anything/at/all", True),
    ("/home/*/cache", "/home/u/cache", True),
    ("/home/*/cache", "/home/u/x/cache", False),  # * stays within one directory
    ("/home/*/cache", "/home/cache", False),
    ("/home/*/cache/", "/home/u/cache", True),  # a trailing slash is ignored
    ("/home/?/c", "/home/u/c", True),
    ("/home/?/c", "/home//c", False),  # ? never matches a '/'
    ("/home/u?c", "/home/u/c", False),
    ("/home/**/cache", "/home/u/x/y/cache", True),
    ("/home/**/cache", "/home/u/cache", True),
    ("/home/**/cache", "/home/cache", True),  # ** may stand for no directory at all
    ("/home/**/cache", "/home/u/cachex", False),
    ("/home/**", "/home/u/v", True),
    ("/srv/**/*.log", "/srv/a/b/c.log", True),
    ("/srv/**/*.log", "/srv/c.log", True),
    ("/srv/**/*.log", "/srv/a/c.txt", False),
    ("/var/log", "/var/log", True),
    ("/var/log", "/var/logs", False),
    ("/var/log", "/x/var/log", False),  # a path pattern is anchored at the root
    ("logs/*.log", "/srv/app/logs/a.log", True),  # relative: matches at any depth
    ("logs/*.log", "/logs/a.log", True),
    ("logs/*.log", "/srv/mylogs/a.log", False),  # whole names only
    ("app/cache/", "/srv/app/cache", True),
    ("**/tmp", "/a/b/tmp", True),
    ("/weird[", "/weird[", True),  # an unclosed bracket is a literal
    ("/a.b", "/aXb", False),  # a dot is a dot
    ("/a+b(c)", "/a+b(c)", True),
    ("/a\\*b", "/a\\xb", True),  # a backslash is an ordinary character in paths
]


@pytest.mark.parametrize(("pattern", "path", "expected"), CASES)
def test_pattern(pattern: str, path: str, expected: bool) -> None:
    assert ExcludeFilter([pattern]).excluded(path) is expected
    assert ExcludeFilter([pattern]).excluded(path.encode()) is expected


def test_several_patterns_and_none() -> None:
    f = ExcludeFilter(["*.tmp", "/srv/cache"])
    assert f.excluded("/x/y.tmp")
    assert f.excluded("/srv/cache")
    assert not f.excluded("/srv/data")
    assert not ExcludeFilter([]).excluded("/anything")


def test_names_that_are_not_utf8() -> None:
    f = ExcludeFilter(["*.tmp", "/data/*/skip"])
    assert f.excluded(b"/x/\xff\xfe.tmp")
    assert f.excluded(b"/data/\xe9t\xe9/skip")
    assert not f.excluded(b"/x/\xff.txt")
    # A pattern given on a command line in the filesystem encoding.
    assert ExcludeFilter(["/data/\udce9"]).excluded(b"/data/\xe9")


def test_newline_in_names() -> None:
    assert ExcludeFilter(["*.tmp"]).excluded("/a/line\nbreak.tmp")
    assert not ExcludeFilter(["*.tmp"]).excluded("/a/b.tmp\nx")


@given(st.text(alphabet="abc/.-_ ", min_size=1, max_size=30))
def test_a_literal_path_matches_itself(path: str) -> None:
    path = "/" + path.strip("/")
    assert ExcludeFilter([path]).excluded(path) or path == "/"


@given(st.text(alphabet="abc.-_ ", min_size=1, max_size=20))
def test_a_literal_name_matches_itself_anywhere(name: str) -> None:
    assert ExcludeFilter([name]).excluded("/some/where/" + name)
    assert not ExcludeFilter([name]).excluded("/some/where/" + name + "x")
