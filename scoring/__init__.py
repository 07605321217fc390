"""Suyang's numeric core: survey design, weights, variance, intervals and domain estimates.

Pure numpy/scipy functions over arrays; nothing here imports Django. The estimation engine
reproduces R's ``survey`` package (Lumley) for the same data.

Typical use (the platform's path)::

    design = design_create(weights_base(pi), strata=[town, urban], psu=village,
                           lonely_psu="adjust")
    raked = weights_rake(design, [Margin.from_labels("town", town, town_totals), ...])
    overall = estimate_proportion(raked.design, literate, var="literate")
    by_town = estimate_proportion(raked.design, literate, var="literate", by=town)
"""

from scoring.design import (
    LONELY_PSU_OPTIONS,
    Calibration,
    LonelyPsu,
    LonelyPsuError,
    SurveyDesign,
    design_create,
    design_degrees_of_freedom,
)
from scoring.domains import Domains, DomainStatistics, domain_estimate, domains_encode
from scoring.estimates import CellEstimate, estimate_mean, estimate_proportion, estimate_total
from scoring.intervals import (
    CI_METHODS,
    CiMethod,
    ci_wald,
    proportion_ci,
    proportion_ci_beta,
    proportion_ci_logit,
)
from scoring.variance import variance_taylor
from scoring.weights import (
    CalibrationError,
    Margin,
    RakeResult,
    weights_base,
    weights_post_stratify,
    weights_rake,
)

__all__ = [
    "CI_METHODS",
    "LONELY_PSU_OPTIONS",
    "Calibration",
    "CalibrationError",
    "CellEstimate",
    "CiMethod",
    "DomainStatistics",
    "Domains",
    "LonelyPsu",
    "LonelyPsuError",
    "Margin",
    "RakeResult",
    "SurveyDesign",
    "ci_wald",
    "design_create",
    "design_degrees_of_freedom",
    "domain_estimate",
    "domains_encode",
    "estimate_mean",
    "estimate_proportion",
    "estimate_total",
    "proportion_ci",
    "proportion_ci_beta",
    "proportion_ci_logit",
    "variance_taylor",
    "weights_base",
    "weights_post_stratify",
    "weights_rake",
]
