"""The splitting pictures: the cap plot from its numbers, the page diagram from the two caches."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab import ProductDB  # noqa: E402
from cacheaside_lab.experiments.splitting import InventoryDB, SplitProductCache, WholeProductCache  # noqa: E402
from cacheaside_lab.pictures.splitting import draw_hit_ratio_cap, draw_split_page  # noqa: E402


def test_cap_plot_draws_model_lines_simulation_dots_and_the_cap():
    figure = draw_hit_ratio_cap([1, 10, 100], [0.5, 0.8, 0.9], [0.5, 0.9, 0.99], [1, 100], [0.51, 0.9], [0.5, 0.98], 0.9)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "hit ratio"
    assert list(ax.lines[-1].get_ydata()) == [0.9, 0.9]
    assert "cap reads/(reads + writes) = 0.900" in [text.get_text() for text in ax.get_legend().get_texts()]
    plt.close(figure)


def test_cap_plot_refuses_mismatched_series():
    with pytest.raises(ValueError, match="one value per TTL"):
        draw_hit_ratio_cap([1, 10], [0.5], [0.5, 0.9], [1], [0.5], [0.5], 0.9)


@pytest.mark.parametrize("options, says", [
    (dict(stock_ttl=300, invalidate_stock=True), "deleted by every sale"),
    (dict(stock_ttl=2.0), "never deleted: the TTL bounds its age"),
    (dict(stock="database"), "read from the database on every page view"),
])
def test_page_diagram_names_the_keys_and_ttls_of_the_caches_given(cache, options, says):
    inventory = InventoryDB(ProductDB(products=50))
    whole = WholeProductCache(cache, inventory, ttl=300)
    split = SplitProductCache(cache, inventory, stable_ttl=3600, **options)
    figure = draw_split_page(whole, split, product_id=7)
    shown = " ".join(text.get_text() for text in figure.axes[0].texts)
    assert whole.aside.key(7) in shown and split.info_key(7) in shown
    assert "TTL 3600 s" in shown and says in shown
    plt.close(figure)
    with pytest.raises(TypeError, match="WholeProductCache and a SplitProductCache"):
        draw_split_page(split, whole)


def test_command_sequence_draws_each_recorded_call_but_not_the_pipeline_opening():
    from cacheaside_lab.pictures.splitting import draw_command_sequence

    log = [("cache", "mget", (["cacheaside-lab:split-product:info:42", "cacheaside-lab:split-product:stock:42"],), {}),
           ("database", "get_product", (42,), {}), ("cache", "pipeline", (), {}),
           ("cache.pipeline", "set", ("cacheaside-lab:split-product:info:42", "{}"), {}),
           ("cache.pipeline", "execute", (), {})]
    figure = draw_command_sequence([("cold read", log), ("idle", [])])
    shown = [text.get_text() for text in figure.axes[0].texts]
    assert "mget info:42, stock:42" in shown and "get_product 42" in shown
    assert "queued: set info:42" in shown and "pipeline execute: one round trip" in shown
    assert "(nothing sent)" in shown and not any(text == "pipeline" for text in shown)
    plt.close(figure)
    with pytest.raises(TypeError, match="list of"):
        draw_command_sequence("cold read")
