"""The namespace rule: the course writes and deletes only under its own prefix, one key per item."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from cacheaside_lab.core.keys import (
    clear_course_keys,
    course_keys,
    glob_escape,
    make_key,
    normalize_id,
    normalize_namespace,
    prefix_start,
    require_prefix,
    root_namespace,
)


def test_make_key_puts_the_namespace_first(backend):
    assert make_key("product", 42) == backend.key("product", 42)
    expected = "other:product:{42}" if backend.cluster else "other:product:42"  # a hash tag on a cluster
    assert make_key("product", 42, namespace="other:") == expected
    assert make_key("product", 42, namespace="other") == expected


def test_default_namespace(monkeypatch):
    monkeypatch.delenv("CACHEASIDE_NAMESPACE", raising=False)
    assert root_namespace() == "cacheaside-lab:"


def test_empty_namespace_is_refused(monkeypatch):
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", "")
    with pytest.raises(ValueError, match="CACHEASIDE_NAMESPACE must be a non-empty string"):
        root_namespace()


# --- namespaces: one segment, always ending with ':' ------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("cacheaside-lab", "cacheaside-lab:"),
        ("cacheaside-lab:", "cacheaside-lab:"),
        ("cacheaside-lab-alice", "cacheaside-lab-alice:"),
        ("A.b_c-9", "A.b_c-9:"),
        ("x" * 64, "x" * 64 + ":"),
    ],
)
def test_namespace_is_normalised_to_end_with_the_separator(text, expected):
    assert normalize_namespace(text) == expected


@pytest.mark.parametrize(
    "text",
    ["cacheaside-lab:alice", "cacheaside-lab:bob:", "a::", ":", "::", ":a", "ns*:", "a b:",
     "x" * 65, "ä:", "ns\n:", "a[1]:"],
)
def test_a_namespace_that_is_not_one_segment_is_refused(text):
    with pytest.raises(ValueError, match="one segment of letters, digits, '-', '_' or '.'"):
        normalize_namespace(text)


def test_the_refusal_suggests_a_one_segment_namespace():
    with pytest.raises(ValueError, match="use e.g. 'cacheaside-lab-alice:'"):
        normalize_namespace("cacheaside-lab:alice")


@pytest.mark.parametrize("value", [None, 3, b"ns:"])
def test_a_namespace_must_be_text(value):
    with pytest.raises(ValueError, match="namespace must be a non-empty string"):
        normalize_namespace(value)


def test_a_nested_namespace_from_the_environment_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", "cacheaside-lab:alice")
    with pytest.raises(ValueError, match="CACHEASIDE_NAMESPACE must be one segment"):
        root_namespace()
    with pytest.raises(ValueError, match="CACHEASIDE_NAMESPACE must be one segment"):
        make_key("product", 1)


def test_namespace_without_colon_from_the_environment_gets_one(monkeypatch):
    monkeypatch.setenv("CACHEASIDE_NAMESPACE", "cacheaside-lab-alice")
    assert root_namespace() == "cacheaside-lab-alice:"
    assert make_key("product", 1) == "cacheaside-lab-alice:product:1"


# --- prefixes: words joined by single ':' -----------------------------------------------------

@pytest.mark.parametrize("prefix", ["product", "listing:page", "lab01:product", "race-no-ttl:product", "a.b_c"])
def test_valid_prefixes(prefix):
    assert require_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", [":product", "product:", "a::b", "a*", "a b", "a?", "[a]", "a\\b", "x" * 201])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError, match="joined by single ':'"):
        require_prefix(prefix)


def test_prefix_start_selects_exactly_one_prefix():
    assert prefix_start("product") == prefix_start("product:") == "product:"
    with pytest.raises(ValueError, match="prefix must be words"):
        prefix_start("prod*")


# --- ids: one key per item --------------------------------------------------------------------

@pytest.mark.parametrize(
    "item_id, expected",
    [
        (42, 42), (-3, -3), (42.0, 42), (np.int64(42), 42), (np.float64(42.0), 42),
        (Fraction(84, 2), 42), ("42", 42), (" 42", 42), ("42 \n", 42), ("+42", 42), ("0042", 42),
        ("-7", -7), ("sku-17", "sku-17"), (" sku-17 ", "sku-17"), ("é.1_x", "é.1_x"), ("x" * 200, "x" * 200),
    ],
)
def test_ids_are_normalised(item_id, expected):
    normalised = normalize_id(item_id)
    assert normalised == expected and type(normalised) is type(expected)


def test_the_same_item_gets_the_same_key(backend):
    assert {make_key("product", i) for i in (42, 42.0, "42", " 42", np.int32(42))} == {make_key("product", 42)}


@pytest.mark.parametrize(
    "item_id, message",
    [
        (42.5, "must be a whole number"), (float("nan"), "must be a whole number"),
        (float("inf"), "must be a whole number"), ("", "1 to 200 characters"), ("   ", "1 to 200 characters"),
        ("x" * 201, "1 to 200 characters"), ("b:1", "contains ':'"), ("a b", "contains ' '"),
        ("a\x00", "contains '\\\\x00'"), ("a*", "contains '\\*'"), ("a?", "contains '\\?'"),
        ("[a]", "contains '\\['"), ("a\\b", "contains '\\\\\\\\'"),
    ],
)
def test_bad_ids_are_refused_with_what_is_allowed(item_id, message):
    with pytest.raises(ValueError, match=message):
        normalize_id(item_id)


@pytest.mark.parametrize("item_id", [True, False, None, b"42", (1,), [1], {"id": 1}])
def test_ids_of_other_types_are_refused(item_id):
    with pytest.raises(TypeError, match="item id must be a whole number or a string"):
        normalize_id(item_id)


def test_a_prefix_cannot_be_confused_with_an_id(backend):
    """Before: make_key("a", "b:1") == make_key("a:b", 1). Now the first is refused."""
    assert make_key("a:b", 1) == backend.key("a:b", 1)
    with pytest.raises(ValueError, match="contains ':'"):
        make_key("a", "b:1")


# --- deleting: only inside the namespace ------------------------------------------------------

def test_glob_escape():
    assert glob_escape("a*b?[c]\\") == "a\\*b\\?\\[c\\]\\\\"


def test_clear_deletes_only_the_course_keys(cache, backend):
    foreign = ["product:42", "cacheaside-labX:product:1", backend.namespace[:-1], backend.namespace[:-1] + "2:product:1"]
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


def test_a_namespace_without_its_colon_deletes_no_sibling(cache, backend):
    """The namespace is normalised before it becomes a pattern: 'ns' never matches 'ns2:…' or 'nsX'."""
    stem = backend.namespace[:-1]
    siblings = [f"{stem}2:product:1", f"{stem}X", f"{stem}-other:1"]
    for key in siblings:
        cache.set(key, "not ours")
    cache.set(make_key("product", 1), "1")
    try:
        assert clear_course_keys(cache, namespace=stem) == 1
        assert all(cache.get(key) == "not ours" for key in siblings)
    finally:
        cache.delete(*siblings)


def test_glob_characters_in_a_prefix_match_only_themselves(cache, backend):
    cache.set(f"{backend.namespace}ns*:x", "1")
    cache.set(f"{backend.namespace}nsZ:x", "2")
    assert clear_course_keys(cache, "ns*:") == 1
    assert cache.get(f"{backend.namespace}nsZ:x") == "2"


def test_clear_refuses_a_nested_namespace(cache):
    with pytest.raises(ValueError, match="one segment"):
        clear_course_keys(cache, namespace="cacheaside-lab:bob:")


def test_batch_must_be_positive(cache):
    with pytest.raises(ValueError, match="batch must be 1 or more"):
        clear_course_keys(cache, batch=0)
