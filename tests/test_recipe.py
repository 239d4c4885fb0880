"""Recipes: loading, overrides, and the errors for unknown keys and bad values."""

from __future__ import annotations

import re

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
    with pytest.raises(ConfigError, match=r"names 'base: missing', which is neither a file beside it "
                                          r"\(.*missing.yaml\) nor a registered recipe \(adult, .*ecg5000"):
        load_recipe(str(tmp_path / "orphan.yaml"))


def test_base_may_name_a_registered_recipe(tmp_path):
    (tmp_path / "mine.yaml").write_text("base: ecg5000\nname: mine\nepochs: 3\n")
    recipe = load_recipe(str(tmp_path / "mine.yaml"))
    assert (recipe.name, recipe.epochs, recipe.dataset, recipe.val_fraction) == ("mine", 3, "ECG5000", 0.05)
    (tmp_path / "ecg5000.yaml").write_text("name: local\nepochs: 9\n")  # a file beside it comes first
    assert load_recipe(str(tmp_path / "mine.yaml")).val_fraction == 0.1


@pytest.mark.parametrize("content, received", [("- epochs: 3\n- lr: 0.1\n", "a list ([{'epochs': 3}, {'lr': 0.1}])"),
                                               ("just text\n", "text (just text)"), ("42\n", "a number (42)")])
def test_a_recipe_that_is_not_a_mapping_is_named(tmp_path, content, received):
    path = tmp_path / "r.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=rf"recipe file {path} must hold a mapping of recipe keys at its top "
                                          rf"level .*; it holds {re.escape(received)}\. See"):
        load_recipe(str(path))


def test_a_recipe_that_is_not_text_or_empty_is_named(tmp_path):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ConfigError, match=rf"recipe file {binary} is not UTF-8 text \(byte \d+ cannot be decoded\)"):
        load_recipe(str(binary))
    empty = tmp_path / "e.yaml"
    empty.write_text("# only a comment\n")
    with pytest.raises(ConfigError, match=rf"recipe file {empty} is empty. Give at least `base: <recipe>`"):
        load_recipe(str(empty))


def test_overrides_that_contradict_themselves_are_refused():
    with pytest.raises(ConfigError, match=r"--set sets epochs as a value and epochs.x inside it"):
        load_recipe("ecg5000_noisy", ["epochs=2", "epochs.x=3"])
    with pytest.raises(ConfigError, match=r"--set sets noise as a value and noise.rate inside it"):
        parse_overrides(["noise.rate=0.2", "noise=3"])
    with pytest.raises(ConfigError, match=r"--set epochs is given twice \(2, then 3\); give each key once"):
        load_recipe("ecg5000_noisy", ["epochs=2", "epochs=3"])
    with pytest.raises(ConfigError, match=r"override 'noise..rate=1' must look like key=value"):
        parse_overrides(["noise..rate=1"])


def test_a_setting_may_override_set_but_not_itself():
    recipe = load_recipe("ecg5000_noisy", ["noise.rate=0.2"], setting=["noise.rate=0.3"])
    assert recipe.noise.rate == 0.3
    with pytest.raises(ConfigError, match="given twice"):
        load_recipe("ecg5000_noisy", setting=["epochs=1", "epochs=2"])


def test_errors_in_overrides_name_the_command_line_not_the_recipe_file():
    with pytest.raises(ConfigError, match=r"^the command line \(--set\): epochs must be int; received 'ten'"):
        load_recipe("ecg5000_noisy", ["epochs=ten"])
    with pytest.raises(UnknownNameError, match=r"unknown recipe key 'lr_rate'.*\(in the command line \(--set\)\)"):
        load_recipe("ecg5000_noisy", ["lr_rate=1"])
    with pytest.raises(ConfigError, match=r"^recipe .*ecg5000_noisy.yaml with --set lr=-1: lr and weight_decay must be >= 0"):
        load_recipe("ecg5000_noisy", ["lr=-1"])


def test_noise_rate_without_a_noise_model_is_refused():
    with pytest.raises(ConfigError, match=r"noise.rate=0.4 has no effect with noise.kind=none .*noise.kind=symmetric"):
        load_recipe("ecg5000", ["noise.rate=0.4"])
    with pytest.raises(ConfigError, match=r"noise.rate must be in \[0, 1\]; received 1.5"):
        load_recipe("ecg5000_noisy", ["noise.rate=1.5"])
    assert load_recipe("ecg5000_noisy", ["noise.kind=none", "noise.rate=0"]).noise.kind == "none"


@pytest.mark.parametrize("override, message", [
    ("weight_decay=-1", "lr and weight_decay must be >= 0; received lr=0.001, weight_decay=-1.0"),
    ("device=gpu", "device must be auto, cpu, cuda or cuda:<index>; received 'gpu'"),
    ("threads=-2", "threads must be >= 0"),
    ("seeds=[a]", "seeds must be a non-empty list of ints"),
    ("methods=[]", "methods must be a non-empty list of strs"),
])
def test_bad_training_settings_are_refused_at_load(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_recipe("ecg5000_noisy", [override])


def test_published_recipes_fix_the_thread_count():
    """The README's numbers were measured on one thread; the demo must reproduce them anywhere."""
    for name in ("ecg5000", "ecg5000_noisy", "ucr", "adult"):
        assert load_recipe(name).threads == 1
