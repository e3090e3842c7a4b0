"""The alignment methods' registry: explicit registration, presets, and options that belong to one method."""

import pytest

from cltc_tools.align.pipeline import method_params
from cltc_tools.align.registry import GENERIC, METHODS
from cltc_tools.errors import InputError


def test_every_method_is_registered_with_the_paper_preset():
    assert METHODS.names() == ["attract-repel", "cca", "identity", "multistep", "procrustes", "rcsls"]
    for name in METHODS:
        method = METHODS.get(name)
        assert set(method.paper) <= set(method.defaults) | set(GENERIC), name
        assert method.description


def test_defaults_then_preset_then_explicit_options():
    assert method_params("procrustes", None, {}, None)["sv_threshold"] is None
    paper = method_params("procrustes", "paper", {}, None)
    assert paper["sv_threshold"] == 1.0 and paper["normalize"] == ["unit"]
    explicit = method_params("procrustes", "paper", {"sv_threshold": 5.0, "refine": None}, "unit,center,unit")
    assert explicit["sv_threshold"] == 5.0 and explicit["normalize"] == ["unit", "center", "unit"]
    assert explicit["refine"] == 0 and explicit["refine_vocab"] == 15000
    assert method_params("attract-repel", "paper", {}, None)["join_solver"] == "sgd"
    assert method_params("attract-repel", None, {}, None)["join_solver"] == "lstsq"


def test_an_option_of_another_method_or_an_unknown_preset_is_an_input_error():
    with pytest.raises(InputError, match="--cca-ridge does not apply to --method procrustes"):
        method_params("procrustes", None, {"cca_ridge": 1e-3}, None)
    with pytest.raises(InputError, match="unknown preset 'fast'"):
        method_params("cca", "fast", {}, None)
    with pytest.raises(InputError, match="refine"):
        method_params("cca", None, {"refine": -1}, None)


def test_identity_keeps_every_matrix_as_it_is():
    import numpy as np

    from cltc_tools.align.problem import Problem

    rng = np.random.default_rng(0)
    matrices = {lang: rng.standard_normal((n, 3)).astype(np.float32) for lang, n in (("en", 5), ("de", 4))}
    problem = Problem("en", ["en", "de"], matrices, {"en": list("abcde"), "de": list("abcd")})
    fitted = METHODS.get("identity").fit(problem, method_params("identity", None, {}, None))
    assert all(fitted.matrices[lang] is matrices[lang] for lang in matrices)
