import pytest

from synthgen.errors import SamplingError
from synthgen.models.base import resolve_class_counts

TRAIN = {"benign": 214, "malignant": 127}


def test_equal_splits_n_evenly():
    assert resolve_class_counts(TRAIN, n=5000, balance="equal") == {"benign": 2500, "malignant": 2500}


def test_equal_gives_remainder_to_first_classes():
    assert resolve_class_counts({"a": 1, "b": 1, "c": 1}, n=5, balance="equal") == {"a": 2, "b": 2, "c": 1}


def test_fill_gives_each_minority_what_it_lacks():
    assert resolve_class_counts(TRAIN, balance="fill") == {"benign": 0, "malignant": 87}


def test_fill_with_n_keeps_real_plus_synthetic_balanced():
    counts = resolve_class_counts(TRAIN, n=1000, balance="fill")
    assert sum(counts.values()) == 1000
    totals = [TRAIN[c] + counts[c] for c in TRAIN]
    assert abs(totals[0] - totals[1]) <= 1


def test_fill_with_too_small_n_names_the_need():
    with pytest.raises(SamplingError, match="87"):
        resolve_class_counts(TRAIN, n=50, balance="fill")


def test_fill_on_balanced_data_says_so():
    with pytest.raises(SamplingError, match="already balanced"):
        resolve_class_counts({"a": 3, "b": 3}, balance="fill")


def test_plain_n_follows_training_proportions():
    counts = resolve_class_counts(TRAIN, n=341)
    assert counts == TRAIN


def test_exact_classes():
    assert resolve_class_counts(TRAIN, classes={"malignant": 300}) == {"benign": 0, "malignant": 300}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"classes": {"cyst": 3}}, "'cyst' was never seen"),
        ({"n": 0}, "positive"),
        ({"n": -3, "balance": "equal"}, "positive"),
        ({}, "say how many"),
        ({"n": 10, "balance": "most"}, "--balance must be"),
        ({"classes": {"benign": 1}, "n": 5}, "do not combine"),
        ({"classes": {"benign": 0}}, "add up to 0"),
    ],
)
def test_bad_requests_are_one_line_errors(kwargs, match):
    with pytest.raises(SamplingError, match=match):
        resolve_class_counts(TRAIN, **kwargs)


# -- the one check every door uses ---------------------------------------------------------------


def test_checked_counts_lists_every_class_in_training_order_and_adds_repeats():
    from synthgen.class_counts import checked_counts

    assert checked_counts([("malignant", 2), ("malignant", 3.0)], list(TRAIN)) == {"benign": 0, "malignant": 5}
    assert checked_counts({"b": 1}) == {"b": 1}  # no classes yet (a config): counts only


@pytest.mark.parametrize("count", [-1, 2.5, "3", True, None, float("inf")])
def test_checked_counts_refuses_what_is_not_a_whole_count(count):
    from synthgen.class_counts import checked_counts

    with pytest.raises(SamplingError, match=rf"count for class 'benign' must be a whole number >= 0, got {count!r}"):
        checked_counts({"benign": count}, list(TRAIN))


@pytest.mark.parametrize("door", ["python", "config"])
def test_every_door_says_the_same(door):
    """Python's sample() and a pipeline's sample.classes refuse a negative count alike."""
    from synthgen.config import ConfigError, SampleConfig, validate

    if door == "python":
        with pytest.raises(SamplingError) as e:
            resolve_class_counts(TRAIN, classes={"malignant": -2})
    else:
        with pytest.raises(ConfigError) as e:
            validate(SampleConfig, {"classes": {"malignant": -2}}, "pipeline.yaml")
    assert "count for class 'malignant' must be a whole number >= 0, got -2" in str(e.value)
