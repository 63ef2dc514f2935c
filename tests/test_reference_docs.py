"""The references page and the glossary: complete, linked, and pointing at lectures that exist.

Lectures link into both pages by anchor (``../docs/glossary.md#hit-ratio``), so an anchor that
stops resolving, a source without a link or an entry naming a lecture that is not there is a
broken promise to the reader.
"""

from __future__ import annotations

import re

import pytest

from notebook_files import NOTEBOOKS, ROOT

DOCS = ROOT / "docs"
GLOSSARY = (DOCS / "glossary.md").read_text(encoding="utf-8")
REFERENCES = (DOCS / "references.md").read_text(encoding="utf-8")
LECTURES = {path.name[:2] for path in NOTEBOOKS}

GLOSSARY_TERMS = [
    "cache-aside", "hit", "miss", "hit ratio", "TTL", "jitter", "invalidation", "stale read",
    "staleness window", "Poisson process", "Zipf distribution", "closed form", "p99",
    "thundering herd", "single-flight", "lease", "tombstone", "fencing token", "circuit breaker",
    "at-least-once", "read-your-writes", "write-through", "read-through", "write-behind",
    "namespace", "eviction", "working set", "hot key", "near cache", "negative caching",
]

# one canonical address per source the course cites (REFERENCES.md in the course brief)
SOURCES = [
    "usenix.org/conference/nsdi13/technical-sessions/presentation/nishtala",
    "vldb.org/pvldb/vol8/p886-vattani.pdf",
    "aws.amazon.com/builders-library/caching-challenges-and-strategies",
    "engineering.fb.com/2022/06/08/core-infra/cache-made-consistent",
    "uber.com/blog/how-uber-serves-over-40-million-reads-per-second-using-an-integrated-cache",
    "redis.io/docs/latest/develop/reference/client-side-caching",
    "redis.io/docs/latest/operate/oss_and_stack/management/security/acl",
    "redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec",
    "docs.memcached.org/protocols/meta",
    "pkg.go.dev/golang.org/x/sync/singleflight",
    "instagram-engineering.com/thundering-herds-promises",
    "usenix.org/conference/osdi20/presentation/yang",
    "dl.acm.org/doi/10.1145/3600006.3613147",
    "usenix.org/conference/nsdi24/presentation/zhang-yazhuo",
    "nbgrader.readthedocs.io",
    "otter-grader.readthedocs.io",
    "data8.org",
    "carpentries.org",
]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sections(text: str, level: str) -> dict[str, str]:
    """Heading -> body for the headings of one level (``##`` or ``###``)."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


GLOSSARY_ENTRIES = sections(GLOSSARY, "##")
REFERENCE_ENTRIES = sections(REFERENCES, "###")


@pytest.mark.parametrize("term", GLOSSARY_TERMS)
def test_every_required_term_has_an_entry_that_names_its_lecture(term):
    assert term in GLOSSARY_ENTRIES, f"docs/glossary.md has no '## {term}' entry"
    body = GLOSSARY_ENTRIES[term]
    taught = re.findall(r"[Ll]ectures? ([0-9]{2}(?:(?:, | and )[0-9]{2})*)", body)
    assert taught or "Not yet a lecture" in body, f"glossary entry {term!r} does not say which lecture teaches it"
    for group in taught:
        for number in re.findall(r"[0-9]{2}", group):
            assert number in LECTURES, f"glossary entry {term!r} names lecture {number}, which does not exist"


def test_glossary_index_links_every_entry_and_only_real_anchors():
    anchors = {slug(heading) for heading in GLOSSARY_ENTRIES}
    linked = set(re.findall(r"\]\(#([^)]+)\)", GLOSSARY))
    assert linked <= anchors, f"index links to missing anchors: {sorted(linked - anchors)}"
    assert anchors <= linked, f"entries missing from the index: {sorted(anchors - linked)}"


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_is_linked(source):
    assert re.search(rf"https://(www\.)?{re.escape(source)}", REFERENCES), f"docs/references.md does not link {source}"


def test_every_reference_entry_has_a_link_and_a_use():
    for title, body in REFERENCE_ENTRIES.items():
        assert "https://" in body, f"reference {title!r} has no link"
        mentions_use = re.search(r"[Ll]ectures? [0-9]{2}|planned|labs?|tests/|instructor", body)
        assert mentions_use, f"reference {title!r} does not say where the course uses it"
        for number in re.findall(r"[Ll]ectures? ([0-9]{2})", body):
            assert number in LECTURES, f"reference {title!r} names lecture {number}, which does not exist"


def test_the_seed_articles_are_described_not_cited_by_title():
    seed = sections(REFERENCES, "##")["Where the course comes from"]
    assert "newsletter" in seed and "essay" in seed
    assert "http" not in seed  # nothing a reader could mistake for a findable citation


@pytest.mark.parametrize("page", ["glossary.md", "references.md"])
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", (DOCS / page).read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        assert (DOCS / target).exists(), f"docs/{page} links to {target}, which does not exist"


def test_readme_links_both_pages():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/references.md)" in readme and "](docs/glossary.md)" in readme


DOC_LINK = re.compile(r"\]\((?:\.\./)?docs/(glossary|references)\.md#([^)\s]+)\)")


def test_every_anchor_a_notebook_links_to_exists():
    from notebook_files import LABS, SOLUTIONS, read

    anchors = {
        "glossary": {slug(heading) for heading in GLOSSARY_ENTRIES},
        "references": {slug(heading) for heading in {**sections(REFERENCES, "##"), **REFERENCE_ENTRIES}},
    }
    broken = []
    for path in NOTEBOOKS + SOLUTIONS + LABS:
        for cell in read(path).cells:
            if cell.cell_type != "markdown":
                continue
            for page, anchor in DOC_LINK.findall(cell.source):
                if anchor not in anchors[page]:
                    broken.append(f"{path.name} links to docs/{page}.md#{anchor}, which is not a heading there")
    assert not broken, "\n".join(broken)
