"""The namespace rule: the course writes and deletes only under its own prefix."""

from __future__ import annotations

import pytest

from cacheaside_lab.keys import clear_course_keys, course_keys, glob_escape, make_key, root_namespace


def test_make_key_puts_the_namespace_first(backend):
    assert make_key("product", 42) == f"{backend.namespace}product:42"
    assert make_key("product", 42, namespace="other:") == "other:product:42"


def test_default_namespace(monkeypatch):
    monkeypatch.delenv("CACHEASIDE_NAMESPACE", raising=False)
    assert root_namespace() == "cacheaside-lab:"


def test_empty_namespace_is_refused(monkeypatch):
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", "")
    with pytest.raises(ValueError, match="CACHEASIDE_NAMESPACE must be a non-empty string"):
        root_namespace()


def test_glob_escape():
    assert glob_escape("a*b?[c]\\") == "a\\*b\\?\\[c\\]\\\\"


def test_clear_deletes_only_the_course_keys(cache, backend):
    foreign = ["product:42", "cacheaside-labX:product:1", backend.namespace[:-1]]
    for key in foreign:
        cache.set(key, "not ours")
    ours = [make_key("product", i) for i in range(1_234)] + [make_key("lab01:product", 1)]
    cache.mset({key: "1" for key in ours})
    try:
        assert clear_course_keys(cache, "lab01:") == 1
        assert clear_course_keys(cache, batch=100) == 1_234
        assert list(course_keys(cache)) == []
        assert all(cache.get(key) == "not ours" for key in foreign)
    finally:
        cache.delete(*foreign)


def test_glob_characters_in_the_namespace_match_only_themselves(cache):
    cache.set("ns*:x", "1")
    cache.set("nsZ:x", "2")
    try:
        assert clear_course_keys(cache, namespace="ns*:") == 1
        assert cache.get("nsZ:x") == "2"
    finally:
        cache.delete("ns*:x", "nsZ:x")


def test_batch_must_be_positive(cache):
    with pytest.raises(ValueError, match="batch must be 1 or more"):
        clear_course_keys(cache, batch=0)
