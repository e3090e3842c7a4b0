"""Alignment methods by name, each with its defaults and the paper's settings (``--preset paper``).

A method is ``fit(problem, params) -> Fitted``: it receives every language at once (pivot first, normalised,
with the dictionary rows) and returns every language in one coordinate system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cltc_tools.align import attract_repel, cca, multistep, procrustes, rcsls
from cltc_tools.align.problem import Fitted, Problem
from cltc_tools.registry import Option, Registry, merge_hparams

# Options of every method: input normalisation and MUSE-style refinement (Conneau et al. 2018).
GENERIC: dict[str, Any] = {"normalize": [], "refine": 0, "refine_vocab": 15000, "refine_method": "self-learning"}
GENERIC_OPTIONS = (
    Option("refine", int, "N", "Refinement rounds after the method, at most [0]; self-learning keeps those that "
           "raise CSLS P@1 on held-out dictionary pairs."),
    Option("refine_method", str, "self-learning|muse",
           "Refinement: re-fit the method on the gold pairs plus pairs induced by CSLS in both directions "
           "[self-learning; identity: muse], or MUSE's Procrustes on mutual CSLS neighbours."),
    Option("refine_vocab", int, "N", "Most frequent words that induce the refinement dictionary [15000]."),
)


@dataclass(frozen=True)
class Method:
    """An alignment method: ``fit(problem, params)``, its hyper-parameters, and whether it needs a dictionary."""

    name: str
    fit: Callable[[Problem, dict[str, Any]], Fitted]
    defaults: dict[str, Any]
    paper: dict[str, Any] = field(default_factory=dict)
    needs_dict: bool = True
    description: str = ""
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: tuple[Option, ...] = ()  # its hyper-parameters as command-line options (cltc-align builds them)
    # Why a space made with these hyper-parameters cannot take new languages (None: it can, see align/extend.py):
    # extending maps a new language onto the pivot's rows as they are, so the fit must leave the pivot unmoved.
    extension_refusal: Callable[[dict[str, Any]], str | None] = lambda params: "it has no per-language map"

    def hparams(self, preset: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
        """Generic and method defaults < preset < explicit options; options of another method are errors."""
        return merge_hparams(f"--method {self.name}", self.defaults, {"paper": self.paper, **self.presets}, preset,
                             overrides, generic=GENERIC)


METHODS: Registry[Method] = Registry("alignment method")


def method_options() -> dict[str, tuple[Option, list[str]]]:
    """Every option of the registered methods (the generic ones first), each once, with the methods that take it."""
    found: dict[str, tuple[Option, list[str]]] = {option.key: (option, []) for option in GENERIC_OPTIONS}
    for name in METHODS:
        for option in METHODS.get(name).options:
            found.setdefault(option.key, (option, []))[1].append(name)
    return found


def _pivot_stays(params: dict[str, Any]) -> str | None:
    return None


def _cca_refusal(params: dict[str, Any]) -> str | None:
    if params.get("cca_space", "pivot") == "pivot":
        return None
    return "--cca-space cca moves the pivot into the CCA space of the first language pair"


METHODS.register("procrustes", Method("procrustes", procrustes.fit_procrustes, procrustes.DEFAULTS, procrustes.PAPER,
                       options=procrustes.OPTIONS,
                       description="orthogonal map onto the pivot (Smith et al. 2017), optional SVD reduction",
                       extension_refusal=_pivot_stays))
METHODS.register("cca", Method("cca", cca.fit_multicca, cca.DEFAULTS, cca.PAPER, options=cca.OPTIONS,
                       description="CCA on dictionary pairs (Faruqui & Dyer 2014), English pivot as multiCCA "
                                   "(Ammar et al. 2016)", extension_refusal=_cca_refusal))
METHODS.register("attract-repel", Method("attract-repel", attract_repel.fit_attract_repel, attract_repel.DEFAULTS,
                       attract_repel.PAPER, needs_dict=False, options=attract_repel.OPTIONS,
                       description="semantic specialisation (Mrksic et al. 2017), bilingual spaces joined by "
                                   "regression (paper, Appendix B)",
                       extension_refusal=lambda params: "it specialises every language, the pivot included, "
                                                        "against the constraints of all of them"))

METHODS.register("multistep", Method("multistep", multistep.fit_multistep, multistep.DEFAULTS,
                                     presets=multistep.PRESETS, options=multistep.OPTIONS,
                                     description="whitening, orthogonal map, re-weighting, de-whitening (Artetxe et "
                                                 "al. 2018, AAAI); --preset vecmap-supervised is VecMap's "
                                                 "--supervised",
                                     extension_refusal=lambda params: "it transforms the pivot too (by the mean of "
                                                                      "the pairs' pivot transforms)"))
METHODS.register("rcsls", Method("rcsls", rcsls.fit_rcsls, rcsls.DEFAULTS, presets=rcsls.PRESETS, options=rcsls.OPTIONS,
                                 description="relaxed CSLS loss (Joulin et al. 2018), from the multi-step map "
                                             "(--preset joulin: from Procrustes)",
                                 extension_refusal=lambda params: "it normalises the pivot rows and, from the "
                                                                  "multi-step map, transforms them"))


def fit_identity(problem: Problem, params: dict[str, Any]) -> Fitted:
    """No map: the input is one multilingual space already (BiSkip, sent-align, a multi-task model's export)."""
    return Fitted(dict(problem.matrices), {lang: {"pairs": 0} for lang in problem.others})


METHODS.register("identity", Method("identity", fit_identity, {"refine_method": "muse"}, needs_dict=False,
                       description="no map, for spaces trained multilingual (cltc-embed train --method biskip or "
                                   "sent-align): evaluate, normalise or --refine them as they are",
                       extension_refusal=lambda params: "it fits no map: a new language would keep its own "
                                                        "coordinates"))
