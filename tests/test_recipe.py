"""Recipes: loading, overrides, and the errors for unknown keys and bad values."""

from __future__ import annotations

import pytest

from lilaw_health.core.errors import ConfigError, InputError, UnknownNameError
from lilaw_health.recipe import builtin_recipes, load_recipe, parse_overrides, recipe_from_dict


def test_overrides_reach_top_level_and_sections():
    recipe = load_recipe("ecg5000_noisy", ["epochs=3", "seed=1", "noise.kind=pairflip", "noise.rate=0.25",
                                           "method=erm", "lilaw.meta_every=2", "data.root=/tmp/x"])
    assert (recipe.epochs, recipe.seed, recipe.method) == (3, 1, "erm")
    assert (recipe.noise.kind, recipe.noise.rate) == ("pairflip", 0.25)
    assert recipe.lilaw.meta_every == 2 and recipe.lilaw.alpha == 10.0
    assert recipe.data == {"root": "/tmp/x"}
    assert recipe.train_config().epochs == 3


def test_dynamic_loss_and_imbalance_sections():
    recipe = load_recipe("ecg5000_noisy", ["method=dynamic_loss", "dynamic_loss.warmup_epochs=2",
                                           "dynamic_loss.finetune=false", "imbalance.factor=10",
                                           "noise.kind=long_tailed", "class_weight=effective_number"])
    assert recipe.dynamic_loss.warmup_epochs == 2 and recipe.dynamic_loss.finetune is False
    assert recipe.dynamic_loss.meta_lr == 0.003 and recipe.imbalance.factor == 10.0
    assert recipe.noise.kind == "long_tailed" and recipe.class_weight == "effective_number"
    with pytest.raises(ConfigError, match=r"invalid dynamic_loss settings: rank_bins must be >= 1 \(received 0\)"):
        load_recipe("ecg5000_noisy", ["dynamic_loss.rank_bins=0"])
    with pytest.raises(ConfigError, match=r"class_weight must be one of none, balanced, effective_number; "
                                          r"received 'cui'"):
        load_recipe("ecg5000_noisy", ["class_weight=cui"])
    with pytest.raises(UnknownNameError, match=r"unknown recipe key 'imbalance.ratio'.*imbalance.factor"):
        load_recipe("ecg5000_noisy", ["imbalance.ratio=10"])


def test_resolved_recipe_round_trips_through_yaml(tmp_path):
    recipe = load_recipe("ecg5000_noisy", ["epochs=2", "imbalance.factor=100", "dynamic_loss.ratio1=0.25"])
    path = tmp_path / "resolved.yaml"
    path.write_text(recipe.to_yaml())
    assert load_recipe(str(path)) == recipe


def test_every_shipped_recipe_loads():
    assert {"ecg5000", "ecg5000_noisy"} <= set(builtin_recipes())
    for name in builtin_recipes():
        load_recipe(name)


def test_unknown_keys_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"unknown recipe key 'epoch'; valid names are: .*epochs"):
        recipe_from_dict({"epoch": 3})
    with pytest.raises(UnknownNameError, match=r"unknown recipe key 'noise.ratio'.*noise.rate"):
        load_recipe("ecg5000_noisy", ["noise.ratio=0.2"])
    with pytest.raises(UnknownNameError, match=r"unknown recipe 'ecg9'; valid names are: .*ecg5000"):
        load_recipe("ecg9")


def test_bad_values_and_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"epochs must be int; received 'ten' \(str\)"):
        load_recipe("ecg5000_noisy", ["epochs=ten"])
    with pytest.raises(ConfigError, match=r"override 'epochs' must look like key=value"):
        parse_overrides(["epochs"])
    with pytest.raises(InputError, match="recipe file not found: .*nope.yaml"):
        load_recipe(str(tmp_path / "nope.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("epochs: [1,\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_recipe(str(broken))
    with pytest.raises(ConfigError, match=r"invalid lilaw settings: alpha must be >= 1 \(received 0.5\)"):
        load_recipe("ecg5000_noisy", ["lilaw.alpha=0.5"])


def test_base_recipes_are_merged_and_cycles_refused(tmp_path):
    (tmp_path / "parent.yaml").write_text("name: parent\nepochs: 7\nnoise: {kind: symmetric, rate: 0.2}\n")
    (tmp_path / "child.yaml").write_text("base: parent\nname: child\nnoise: {rate: 0.4}\n")
    recipe = load_recipe(str(tmp_path / "child.yaml"))
    assert (recipe.name, recipe.epochs, recipe.noise.kind, recipe.noise.rate) == ("child", 7, "symmetric", 0.4)
    (tmp_path / "loop.yaml").write_text("base: loop\n")
    with pytest.raises(ConfigError, match="inherits from itself"):
        load_recipe(str(tmp_path / "loop.yaml"))
    (tmp_path / "orphan.yaml").write_text("base: missing\n")
    with pytest.raises(InputError, match="recipe file not found: .*missing.yaml"):
        load_recipe(str(tmp_path / "orphan.yaml"))
