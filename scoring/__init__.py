"""Suyang's numeric core: survey design, weights, variance, intervals and domain estimates.

Pure numpy/scipy functions over arrays; nothing here imports Django. The estimation engine
reproduces R's ``survey`` package (Lumley) for the same data.

Typical use (the platform's path)::

    design = design_create(weights_base(pi), strata=[town, urban], psu=village,
                           lonely_psu="adjust")
    raked = weights_rake(design, [Margin.from_labels("town", town, town_totals), ...])
    overall = estimate_proportion(raked.design, literate, var="literate")
    by_town = estimate_proportion(raked.design, literate, var="literate", by=town)

Replicate variance instead of linearisation::

    jackknife = replicates_create(raked.design, "jkn")   # re-rakes every replicate
    by_town = estimate_proportion(jackknife, literate, var="literate", by=town)

A command line over CSV files runs the same engine: ``python -m scoring estimate --help``.
"""

from scoring.calibration import CALFUNS, Calfun, CalibrationSpec, TrimmingSpec
from scoring.design import (
    LONELY_PSU_OPTIONS,
    Calibration,
    LaterStage,
    LonelyPsu,
    LonelyPsuError,
    SurveyDesign,
    design_create,
    design_degrees_of_freedom,
)
from scoring.domains import Domains, DomainStatistics, domain_estimate, domains_encode
from scoring.estimates import (
    CellEstimate,
    ContrastEstimate,
    estimate_contrast,
    estimate_difference,
    estimate_domain_differences,
    estimate_mean,
    estimate_proportion,
    estimate_ratio,
    estimate_total,
)
from scoring.intervals import (
    CI_METHODS,
    CiMethod,
    LikelihoodProfile,
    ci_wald,
    proportion_ci,
    proportion_ci_asin,
    proportion_ci_beta,
    proportion_ci_likelihood,
    proportion_ci_logit,
    proportion_ci_wilson,
    t_quantile,
)
from scoring.replicates import (
    REPLICATE_METHODS,
    ReplicateDesign,
    ReplicateMethod,
    hadamard_matrix,
    replicate_weights,
    replicates_create,
    replicates_from_multipliers,
)
from scoring.variance import variance_taylor
from scoring.weights import (
    CalibrationError,
    Margin,
    NonresponseResult,
    NumericTotal,
    RakeResult,
    TrimResult,
    weights_base,
    weights_calibrate,
    weights_nonresponse,
    weights_post_stratify,
    weights_rake,
    weights_trim,
)

__all__ = [
    "CALFUNS",
    "CI_METHODS",
    "LONELY_PSU_OPTIONS",
    "REPLICATE_METHODS",
    "Calfun",
    "Calibration",
    "CalibrationError",
    "CalibrationSpec",
    "CellEstimate",
    "CiMethod",
    "ContrastEstimate",
    "DomainStatistics",
    "Domains",
    "LaterStage",
    "LikelihoodProfile",
    "LonelyPsu",
    "LonelyPsuError",
    "Margin",
    "NonresponseResult",
    "NumericTotal",
    "RakeResult",
    "ReplicateDesign",
    "ReplicateMethod",
    "SurveyDesign",
    "TrimResult",
    "TrimmingSpec",
    "ci_wald",
    "design_create",
    "design_degrees_of_freedom",
    "domain_estimate",
    "domains_encode",
    "estimate_contrast",
    "estimate_difference",
    "estimate_domain_differences",
    "estimate_mean",
    "estimate_proportion",
    "estimate_ratio",
    "estimate_total",
    "hadamard_matrix",
    "proportion_ci",
    "proportion_ci_asin",
    "proportion_ci_beta",
    "proportion_ci_likelihood",
    "proportion_ci_logit",
    "proportion_ci_wilson",
    "replicate_weights",
    "replicates_create",
    "replicates_from_multipliers",
    "t_quantile",
    "variance_taylor",
    "weights_base",
    "weights_calibrate",
    "weights_nonresponse",
    "weights_post_stratify",
    "weights_rake",
    "weights_trim",
]
