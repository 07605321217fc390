# Reference numbers for tests/scoring, computed with R's `survey` package.
#
# Run from anywhere:  Rscript tests/scoring/results/make_results.R   (about a minute)
# Writes, next to this script:
#   apistrat.csv, apiclus1.csv, apiclus2.csv  columns of R's `api` data used by the tests
#   apipairs.csv                              apistrat with pairs of schools as variance strata
#                                             (for BRR and Fay)
#   county.csv                                a synthetic stratified two-stage county sample
#                                             generated here (set.seed), so Python reads the
#                                             very same rows; with village population (stage-2
#                                             FPC), certainty flags and a response indicator
#   county_margins.csv                        its census margins (variable,level,total), the
#                                             MARGINS.csv of the command line
#   apistrat_bootstrap.csv, apistrat_subbootstrap.csv, county_bootstrap.csv
#                                             R's bootstrap multipliers (one row per PSU, one
#                                             column per replicate), so that random replicate
#                                             methods are compared exactly
#   reference.json                            one entry per case: data file, design, optional
#                                             calibration (with R's calibrated weights),
#                                             optional replicate weights, the statistic and R's
#                                             results per domain; `extra` holds R's Hadamard
#                                             matrix, nonresponse weights, contrasts between
#                                             domains and between independent samples
#
# Conventions that the Python tests rely on:
# * every estimate uses na.rm = TRUE (a missing y drops out of the estimate, not the design);
# * domains come from svyby(); design df from degf() of the domain subset, as svyciprop uses;
# * Wald intervals for means, ratios and totals use qt(, degf) as confint(..., df = degf(design));
# * proportion intervals come from svyciprop(): "logit" is method = "xlogit", "wald" and "mean"
#   are method = "mean", "beta", "likelihood" and "asin" are the methods of those names;
#   "wilson" (not in R) applies the Wilson formula on the effective sample size to R's
#   estimate, SE and df;
# * deff is svymean/svytotal/svyratio(deff = TRUE), deff_replace is deff = "replace";
# * raking is calibrate(..., calfun = "raking"), post-stratification is postStratify(), GREG is
#   calibrate() with the default linear calfun, bounded calibration is calibrate(bounds =,
#   calfun =), trimming is trimWeights(); replicate designs come from as.svrepdesign() and are
#   calibrated with calibrate() (every replicate re-calibrated);
# * contrasts between domains are c' V c with V from svyby(covmat = TRUE) (from svyratio on
#   the whole design for calibrated designs, where svyby(covmat = TRUE) fails in survey 4.1-1).
# Numbers are written with 17 significant digits.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else getwd()

options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)

# Shortest of 15 or 17 significant digits that reads back as the same double.
exact <- function(x) {
  short <- sprintf("%.15g", x)
  ifelse(suppressWarnings(as.numeric(short)) == x, short, sprintf("%.17g", x))
}
num <- function(x) {
  x <- unname(as.numeric(x))
  stopifnot(length(x) == 1)
  structure(ifelse(is.finite(x), exact(x), "null"), class = "json")
}
num_vec <- function(x) {
  x <- unname(as.numeric(x))
  structure(paste0("[", paste(ifelse(is.finite(x), exact(x), "null"), collapse = ","), "]"),
            class = "json")
}
write_data <- function(df, name) {
  for (col in names(df)) {
    if (is.double(df[[col]])) df[[col]] <- ifelse(is.na(df[[col]]), NA, exact(df[[col]]))
  }
  write.csv(df, file.path(out_dir, name), row.names = FALSE, na = "NA", quote = TRUE)
}

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
data(api)
yes01 <- function(x) as.numeric(x == "Yes")

api_strat <- data.frame(
  snum = apistrat$snum, stype = as.character(apistrat$stype), pw = apistrat$pw,
  fpc = apistrat$fpc, api00 = apistrat$api00, enroll = apistrat$enroll,
  acs_k3 = apistrat$acs.k3, sch_wide = yes01(apistrat$sch.wide),
  awards = as.character(apistrat$awards), comp_imp = yes01(apistrat$comp.imp),
  api99 = apistrat$api99
)
api_clus1 <- data.frame(
  dnum = apiclus1$dnum, snum = apiclus1$snum, stype = as.character(apiclus1$stype),
  pw = apiclus1$pw, fpc = apiclus1$fpc, api00 = apiclus1$api00, enroll = apiclus1$enroll,
  avg_ed = apiclus1$avg.ed, sch_wide = yes01(apiclus1$sch.wide),
  sch_wide_f = as.character(apiclus1$sch.wide), awards = as.character(apiclus1$awards),
  comp_imp = yes01(apiclus1$comp.imp), api99 = apiclus1$api99
)
api_clus2 <- data.frame(
  dnum = apiclus2$dnum, snum = apiclus2$snum, stype = as.character(apiclus2$stype),
  pw = apiclus2$pw, fpc1 = apiclus2$fpc1, api00 = apiclus2$api00,
  enroll = apiclus2$enroll, acs_k3 = apiclus2$acs.k3, awards = yes01(apiclus2$awards),
  fpc2 = apiclus2$fpc2
)

# Synthetic county: strata = town x urban/rural; PSU = village drawn with probability
# proportional to size; adults drawn at random within village. T2-U takes both of its villages
# (certainty, fpc makes its variance 0), T3-U is a single certainty village, T6-U has one
# village drawn out of four (a lonely PSU).
set.seed(20251129)
strata_def <- data.frame(
  town  = c("T1", "T1", "T2", "T2", "T3", "T3", "T4", "T5", "T5", "T6", "T6"),
  urban = c("U",  "R",  "U",  "R",  "U",  "R",  "R",  "U",  "R",  "U",  "R"),
  N_villages = c(12, 30, 2, 25, 1, 28, 35, 10, 26, 4, 22),
  n_villages = c(3, 4, 2, 4, 1, 3, 5, 2, 4, 1, 3),
  stringsAsFactors = FALSE
)
age_levels <- c("18-29", "30-39", "40-49", "50-59", "60-69")
edu_levels <- c("primary", "junior", "senior", "college")
frame <- do.call(rbind, lapply(seq_len(nrow(strata_def)), function(h) {
  s <- strata_def[h, ]
  size <- if (s$urban == "U") round(runif(s$N_villages, 2000, 8000)) else
    round(runif(s$N_villages, 300, 1500))
  data.frame(town = s$town, urban = s$urban, N_villages = s$N_villages,
             n_villages = s$n_villages, size = size, stringsAsFactors = FALSE)
}))
frame$village <- sprintf("V%03d", seq_len(nrow(frame)))
frame$stratum <- paste(frame$town, frame$urban, sep = "-")

county <- do.call(rbind, lapply(split(frame, frame$stratum), function(f) {
  n_h <- f$n_villages[1]
  pi1 <- pmin(1, n_h * f$size / sum(f$size))
  chosen <- if (n_h >= nrow(f)) seq_len(nrow(f)) else sample(seq_len(nrow(f)), n_h, prob = f$size)
  do.call(rbind, lapply(chosen, function(v) {
    m <- if (f$urban[v] == "U") 15 else 10
    data.frame(stratum = rep(f$stratum[v], m), town = f$town[v], urban = f$urban[v],
               village = f$village[v], N_villages = f$N_villages[v],
               pi = pi1[v] * m / f$size[v], village_size = f$size[v], stringsAsFactors = FALSE)
  }))
}))
county <- county[order(county$village), ]
n <- nrow(county)
county$id <- seq_len(n)
urban <- as.numeric(county$urban == "U")
village_effect <- rnorm(length(unique(county$village)), 0, 0.6)[match(county$village, sort(unique(county$village)))]
county$sex <- sample(c("F", "M"), n, replace = TRUE)
age_idx <- vapply(urban, function(u) sample(1:5, 1, prob = if (u == 1) c(.24, .22, .20, .18, .16) else c(.14, .18, .22, .24, .22)), 1)
county$agegrp <- age_levels[age_idx]
latent <- rnorm(n) + 0.9 * urban - 0.3 * (age_idx - 3) + 0.4 * village_effect
edu_idx <- as.integer(cut(latent, c(-Inf, -0.6, 0.5, 1.4, Inf)))
county$edu <- edu_levels[edu_idx]
county$sexage <- paste(county$sex, county$agegrp, sep = ":")
county$score <- round(pmin(100, pmax(0, 50 + 7 * (edu_idx - 1) + 3 * urban - 1.5 * (age_idx - 1) +
  8 * village_effect + 2 * (county$sex == "M") + rnorm(n, 0, 12))), 1)
county$literate <- as.numeric(county$score >= 70)
county$score[sample(n, round(0.02 * n))] <- NA
county$literate[is.na(county$score)] <- NA
county$literate[sample(which(!is.na(county$literate)), round(0.02 * n))] <- NA
county$w <- 1 / county$pi
county$female <- as.numeric(county$sex == "F")
# Villages of the self-representing strata (all their villages taken) are certainty PSUs.
county$certainty <- as.numeric(county$stratum %in% c("T2-U", "T3-U"))
county <- county[, c("id", "stratum", "town", "urban", "village", "N_villages", "pi", "w",
                     "sex", "agegrp", "sexage", "edu", "score", "literate", "village_size",
                     "female", "certainty")]

# Census margins: town and urban/rural from the frame; sex x age and education from a
# perturbed sample distribution, rounded so that every margin sums to the same N.
N <- sum(frame$size)
round_to <- function(x, total) {
  r <- round(x / sum(x) * total)
  r[length(r)] <- total - sum(r[-length(r)])
  r
}
margin_levels <- list(town = sort(unique(frame$town)), sexage = sort(unique(county$sexage)),
                      urban = c("R", "U"), edu = edu_levels)
margin_totals <- list(
  town = as.numeric(tapply(frame$size, frame$town, sum)[margin_levels$town]),
  sexage = round_to(tapply(county$w, county$sexage, sum)[margin_levels$sexage] *
                      exp(rnorm(length(margin_levels$sexage), 0, 0.08)), N),
  urban = as.numeric(tapply(frame$size, frame$urban, sum)[margin_levels$urban]),
  edu = round_to(tapply(county$w, county$edu, sum)[margin_levels$edu] *
                   exp(rnorm(length(margin_levels$edu), 0, 0.08)), N)
)
stopifnot(all(vapply(margin_totals, sum, 1) == N))
# Response to the survey, lower among the young and in rural villages (drawn after every other
# random number, so that the sample above stays the same).
county$responded <- rbinom(n, 1, plogis(2.2 - 0.25 * (match(county$agegrp, age_levels) == 1) -
                                           0.5 * (county$urban == "R")))

# Pairs of schools as variance strata of apistrat, for BRR (within school type, by snum).
api_pairs <- api_strat[order(api_strat$stype, api_strat$snum), ]
api_pairs$vstrat <- sprintf("%s%03d", api_pairs$stype,
                            ave(seq_len(nrow(api_pairs)), api_pairs$stype,
                                FUN = function(i) (seq_along(i) + 1) %/% 2))

write_data(api_strat, "apistrat.csv")
write_data(api_clus1, "apiclus1.csv")
write_data(api_clus2, "apiclus2.csv")
write_data(county, "county.csv")
write_data(api_pairs, "apipairs.csv")
write.csv(data.frame(variable = rep(names(margin_levels), vapply(margin_levels, length, 1)),
                     level = unlist(margin_levels), total = unlist(margin_totals)),
          file.path(out_dir, "county_margins.csv"), row.names = FALSE, quote = FALSE)

# ---------------------------------------------------------------------------------------------
# Reference cases
# ---------------------------------------------------------------------------------------------
cases <- list()
add_case <- function(case) cases[[length(cases) + 1]] <<- case
calibrations <- list()

r_ci_method <- c(logit = "xlogit", wald = "mean", mean = "mean", beta = "beta",
                 likelihood = "likelihood", asin = "asin")

# Wilson score interval on the effective sample size p(1-p)/se^2 (n where there is no
# variance); R has no such method, so this applies the formula to R's estimate, SE and df.
wilson_ci <- function(p, se, df, n, level) {
  z <- qt(1 - (1 - level) / 2, df)
  nstar <- ifelse(p <= 0 | p >= 1 | se <= 0, n, p * (1 - p) / se^2)
  den <- 1 + z^2 / nstar
  centre <- (p + z^2 / (2 * nstar)) / den
  half <- z / den * sqrt(p * (1 - p) / nstar + z^2 / (4 * nstar^2))
  cbind(pmax(0, pmin(p, centre - half)), pmin(1, pmax(p, centre + half)))
}
quiet <- function(expr) suppressWarnings(suppressMessages(expr))
safe_deff <- function(expr) tryCatch(quiet(as.vector(deff(expr))), error = function(e) NA)

# One case: statistic of `variable` over the whole design or svyby() domains.
reference_case <- function(id, data_file, data, des, design_spec, statistic, variable,
                           by = NULL, ci_method = "wald", level = 0.95, lonely = "fail",
                           calibration = NULL, denominator = NULL, replicates = NULL) {
  old <- options(survey.lonely.psu = lonely)
  on.exit(options(old))
  f <- as.formula(paste0("~", variable))
  y <- data[[variable]]
  is_rep <- inherits(des, "svyrep.design")
  w <- if (is_rep) weights(des, "sampling") else weights(des)
  if (!is.null(denominator)) {
    fd <- as.formula(paste0("~", denominator))
    ok_rows <- !is.na(y) & !is.na(data[[denominator]])
  } else {
    ok_rows <- !is.na(y)
  }
  fun <- if (statistic == "total") svytotal else svymean
  stat_deffs <- function(d, dtype) {
    if (statistic == "ratio") safe_deff(svyratio(f, fd, d, na.rm = TRUE, deff = dtype))
    else safe_deff(fun(f, d, na.rm = TRUE, deff = dtype))
  }
  if (is.null(by)) {
    if (statistic == "ratio") {
      stat <- quiet(svyratio(f, fd, des, na.rm = TRUE))
      est <- coef(stat); se <- SE(stat)
    } else {
      stat <- quiet(fun(f, des, na.rm = TRUE))
      est <- coef(stat); se <- SE(stat)
    }
    deffs <- stat_deffs(des, TRUE)
    deffs_r <- stat_deffs(des, "replace")
    masks <- list(rep(TRUE, nrow(data)))
    domains <- list(NULL)
    dfs <- degf(des)
    if (statistic == "proportion" && ci_method != "wilson") {
      ci <- tryCatch(
        attr(quiet(svyciprop(f, des, method = r_ci_method[[ci_method]], level = level,
                             na.rm = TRUE)), "ci"),
        error = function(e) if (ci_method == "likelihood") c(NA, NA) else stop(e))
      lo <- ci[1]; hi <- ci[2]
    } else if (statistic == "proportion") {
      ci <- wilson_ci(est, se, dfs, sum(ok_rows), level)
      lo <- ci[1, 1]; hi <- ci[1, 2]
    } else {
      q <- qt(1 - (1 - level) / 2, dfs)
      lo <- est - q * se; hi <- est + q * se
    }
  } else {
    byf <- as.formula(paste0("~", paste(by, collapse = "+")))
    if (statistic == "ratio") {
      stat <- quiet(svyby(f, byf, des, svyratio, denominator = fd, na.rm = TRUE,
                          keep.names = FALSE))
    } else {
      stat <- quiet(svyby(f, byf, des, fun, na.rm = TRUE, keep.names = FALSE))
    }
    keys <- stat[, by, drop = FALSE]
    est <- as.vector(coef(stat)); se <- as.vector(SE(stat))
    masks <- lapply(seq_len(nrow(keys)), function(k) {
      m <- rep(TRUE, nrow(data))
      for (b in by) m <- m & data[[b]] == as.character(keys[k, b])
      m
    })
    domains <- lapply(seq_len(nrow(keys)), function(k) as.character(unlist(keys[k, ])))
    deffs <- vapply(masks, function(m) stat_deffs(des[m, ], TRUE), 1)
    deffs_r <- vapply(masks, function(m) stat_deffs(des[m, ], "replace"), 1)
    dfs <- vapply(masks, function(m) degf(des[m, ]), 1)
    if (statistic == "proportion" && ci_method == "likelihood") {
      # One svyciprop per domain (as svyby does), so that a domain where R's profile fails
      # gets NA instead of stopping the others.
      ci <- vapply(masks, function(m) tryCatch(
        as.vector(attr(quiet(svyciprop(f, des[m, ], method = "likelihood", level = level,
                                       na.rm = TRUE)), "ci")),
        error = function(e) c(NA, NA)), c(0, 0))
      lo <- ci[1, ]; hi <- ci[2, ]
    } else if (statistic == "proportion" && ci_method != "wilson") {
      ci <- quiet(svyby(f, byf, des, svyciprop, method = r_ci_method[[ci_method]], level = level,
                        vartype = "ci", na.rm = TRUE, keep.names = FALSE))
      stopifnot(all(abs(coef(ci) - est) < 1e-12))
      lo <- ci$ci_l; hi <- ci$ci_u
    } else if (statistic == "proportion") {
      ci <- wilson_ci(est, se, dfs, vapply(masks, function(m) sum(m & ok_rows), 1), level)
      lo <- ci[, 1]; hi <- ci[, 2]
    } else {
      q <- qt(1 - (1 - level) / 2, dfs)
      lo <- est - q * se; hi <- est + q * se
    }
  }
  results <- lapply(seq_along(masks), function(k) {
    m <- masks[[k]]
    ok <- m & ok_rows
    list(domain = domains[[k]], estimate = num(est[k]), se = num(se[k]),
         ci_low = num(lo[k]), ci_high = num(hi[k]), df = dfs[k],
         deff = num(deffs[k]), deff_replace = num(deffs_r[k]), n = sum(ok), n_domain = sum(m),
         weighted_n = num(sum(w[ok])))
  })
  add_case(list(id = id, data = data_file, design = design_spec, calibration = calibration,
                replicates = replicates, statistic = statistic, variable = variable,
                denominator = denominator, by = by, ci_method = ci_method,
                level = num(level), results = results))
}

spec <- function(weights, strata = NULL, psu = NULL, fpc = NULL, lonely = "fail", ssu = NULL,
                 certainty = NULL) {
  list(weights = weights, strata = strata, psu = psu, fpc = fpc, lonely_psu = lonely, ssu = ssu,
       certainty = certainty)
}

# --- apistrat: stratified element sample (strata = school type), FPC ------------------------
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = api_strat)
dstrat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = api_strat)
s_strat <- spec("pw", "stype", NULL, "fpc")
reference_case("apistrat_mean_api00", "apistrat.csv", api_strat, dstrat, s_strat, "mean", "api00")
reference_case("apistrat_nofpc_mean_api00", "apistrat.csv", api_strat, dstrat_nofpc,
               spec("pw", "stype"), "mean", "api00")
reference_case("apistrat_total_enroll", "apistrat.csv", api_strat, dstrat, s_strat, "total", "enroll")
reference_case("apistrat_mean_acs_k3_na", "apistrat.csv", api_strat, dstrat, s_strat, "mean", "acs_k3")
for (m in c("logit", "wald", "beta")) {
  reference_case(paste0("apistrat_prop_sch_wide_", m), "apistrat.csv", api_strat, dstrat, s_strat,
                 "proportion", "sch_wide", ci_method = m)
  reference_case(paste0("apistrat_prop_sch_wide_by_awards_", m), "apistrat.csv", api_strat, dstrat,
                 s_strat, "proportion", "sch_wide", by = "awards", ci_method = m)
}
reference_case("apistrat_mean_api00_by_stype", "apistrat.csv", api_strat, dstrat, s_strat, "mean",
               "api00", by = "stype")
reference_case("apistrat_mean_acs_k3_by_stype_awards", "apistrat.csv", api_strat, dstrat, s_strat,
               "mean", "acs_k3", by = c("stype", "awards"))
reference_case("apistrat_total_enroll_by_awards", "apistrat.csv", api_strat, dstrat, s_strat,
               "total", "enroll", by = "awards")
reference_case("apistrat_prop_sch_wide_90", "apistrat.csv", api_strat, dstrat, s_strat,
               "proportion", "sch_wide", ci_method = "logit", level = 0.9)

# --- apiclus1: one-stage cluster sample of districts, FPC -----------------------------------
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = api_clus1)
s_clus1 <- spec("pw", NULL, "dnum", "fpc")
reference_case("apiclus1_mean_api00", "apiclus1.csv", api_clus1, dclus1, s_clus1, "mean", "api00")
reference_case("apiclus1_total_enroll", "apiclus1.csv", api_clus1, dclus1, s_clus1, "total", "enroll")
reference_case("apiclus1_mean_avg_ed_na", "apiclus1.csv", api_clus1, dclus1, s_clus1, "mean", "avg_ed")
for (m in c("logit", "wald", "beta")) {
  reference_case(paste0("apiclus1_prop_sch_wide_", m), "apiclus1.csv", api_clus1, dclus1, s_clus1,
                 "proportion", "sch_wide", ci_method = m)
  reference_case(paste0("apiclus1_prop_comp_imp_by_stype_", m), "apiclus1.csv", api_clus1, dclus1,
                 s_clus1, "proportion", "comp_imp", by = "stype", ci_method = m)
}
reference_case("apiclus1_mean_api00_by_stype", "apiclus1.csv", api_clus1, dclus1, s_clus1, "mean",
               "api00", by = "stype")
reference_case("apiclus1_total_enroll_by_stype", "apiclus1.csv", api_clus1, dclus1, s_clus1,
               "total", "enroll", by = "stype")
reference_case("apiclus1_mean_avg_ed_by_stype_na", "apiclus1.csv", api_clus1, dclus1, s_clus1,
               "mean", "avg_ed", by = "stype")

# --- apiclus2: two-stage sample, ultimate cluster at the first stage (districts) ------------
dclus2 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc1, data = api_clus2)
s_clus2 <- spec("pw", NULL, "dnum", "fpc1")
reference_case("apiclus2_mean_acs_k3_na", "apiclus2.csv", api_clus2, dclus2, s_clus2, "mean", "acs_k3")
reference_case("apiclus2_total_enroll_na", "apiclus2.csv", api_clus2, dclus2, s_clus2, "total", "enroll")
reference_case("apiclus2_mean_acs_k3_by_stype_na", "apiclus2.csv", api_clus2, dclus2, s_clus2, "mean",
               "acs_k3", by = "stype")
for (m in c("logit", "wald", "beta")) {
  reference_case(paste0("apiclus2_prop_awards_", m), "apiclus2.csv", api_clus2, dclus2, s_clus2,
                 "proportion", "awards", ci_method = m)
  reference_case(paste0("apiclus2_prop_awards_by_stype_", m), "apiclus2.csv", api_clus2, dclus2,
                 s_clus2, "proportion", "awards", by = "stype", ci_method = m)
}
# The same design with ultimate.cluster on the full two-stage description must agree.
local({
  old <- options(survey.ultimate.cluster = TRUE)
  on.exit(options(old))
  d2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
  stopifnot(abs(SE(svymean(~api00, d2)) - SE(svymean(~api00, dclus2))) < 1e-9)
})

# --- calibration on the api data: apipop gives the census ---------------------------------
pop_stype <- table(apipop$stype)
pop_sch_wide <- table(apipop$sch.wide)
pop_awards <- table(apipop$awards)
# Calibrations are stored once, by name; cases refer to them by that name.
calibration_spec <- function(name, method, margins, des) {
  calibrations[[name]] <<- list(method = method, margins = margins,
                                weights = num_vec(weights(des)))
  name
}
margin_spec <- function(column, tab) {
  list(column = column, levels = names(tab), totals = num_vec(as.vector(tab)))
}

# Raking apiclus1 to school type and schoolwide target margins.
api_clus1_f <- api_clus1
api_clus1_f$stype <- factor(api_clus1_f$stype, levels = names(pop_stype))
api_clus1_f$sch_wide_f <- factor(api_clus1_f$sch_wide_f, levels = names(pop_sch_wide))
dclus1_f <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = api_clus1_f)
pop_vec <- c(`(Intercept)` = sum(pop_stype), stypeH = pop_stype[["H"]], stypeM = pop_stype[["M"]],
             sch_wide_fYes = pop_sch_wide[["Yes"]])
dclus1_rake <- calibrate(dclus1_f, ~stype + sch_wide_f, pop_vec, calfun = "raking",
                         epsilon = 1e-13, maxit = 200)
cal_clus1 <- calibration_spec("apiclus1_raking", "raking", list(margin_spec("stype", pop_stype),
                                             margin_spec("sch_wide_f", pop_sch_wide)), dclus1_rake)
reference_case("apiclus1_raked_mean_api00", "apiclus1.csv", api_clus1, dclus1_rake, s_clus1,
               "mean", "api00", calibration = cal_clus1)
reference_case("apiclus1_raked_total_enroll", "apiclus1.csv", api_clus1, dclus1_rake, s_clus1,
               "total", "enroll", calibration = cal_clus1)
reference_case("apiclus1_raked_mean_avg_ed_by_stype_na", "apiclus1.csv", api_clus1, dclus1_rake,
               s_clus1, "mean", "avg_ed", by = "stype", calibration = cal_clus1)
for (m in c("logit", "wald", "beta")) {
  reference_case(paste0("apiclus1_raked_prop_comp_imp_", m), "apiclus1.csv", api_clus1, dclus1_rake,
                 s_clus1, "proportion", "comp_imp", ci_method = m, calibration = cal_clus1)
}
for (m in c("logit", "wald")) {
  reference_case(paste0("apiclus1_raked_prop_comp_imp_by_awards_", m), "apiclus1.csv", api_clus1,
                 dclus1_rake, s_clus1, "proportion", "comp_imp", by = "awards", ci_method = m,
                 calibration = cal_clus1)
}

# Raking the stratified sample to school type and awards.
api_strat_f <- api_strat
api_strat_f$stype <- factor(api_strat_f$stype, levels = names(pop_stype))
api_strat_f$awards <- factor(api_strat_f$awards, levels = names(pop_awards))
dstrat_f <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = api_strat_f)
dstrat_rake <- calibrate(dstrat_f, ~stype + awards,
                         c(`(Intercept)` = sum(pop_stype), stypeH = pop_stype[["H"]],
                           stypeM = pop_stype[["M"]], awardsYes = pop_awards[["Yes"]]),
                         calfun = "raking", epsilon = 1e-13, maxit = 200)
cal_strat <- calibration_spec("apistrat_raking", "raking", list(margin_spec("stype", pop_stype),
                                             margin_spec("awards", pop_awards)), dstrat_rake)
reference_case("apistrat_raked_mean_api00", "apistrat.csv", api_strat, dstrat_rake, s_strat, "mean",
               "api00", calibration = cal_strat)
reference_case("apistrat_raked_prop_sch_wide_by_stype_logit", "apistrat.csv", api_strat, dstrat_rake,
               s_strat, "proportion", "sch_wide", by = "stype", ci_method = "logit",
               calibration = cal_strat)

# Post-stratifying apiclus1 on school type.
dclus1_ps <- postStratify(dclus1, ~stype, data.frame(stype = names(pop_stype),
                                                      Freq = as.vector(pop_stype)))
cal_ps <- calibration_spec("apiclus1_poststratification", "poststratification", list(margin_spec("stype", pop_stype)), dclus1_ps)
reference_case("apiclus1_poststrat_mean_api00", "apiclus1.csv", api_clus1, dclus1_ps, s_clus1,
               "mean", "api00", calibration = cal_ps)
reference_case("apiclus1_poststrat_mean_api00_by_awards", "apiclus1.csv", api_clus1, dclus1_ps,
               s_clus1, "mean", "api00", by = "awards", calibration = cal_ps)
reference_case("apiclus1_poststrat_prop_sch_wide_logit", "apiclus1.csv", api_clus1, dclus1_ps,
               s_clus1, "proportion", "sch_wide", ci_method = "logit", calibration = cal_ps)
reference_case("apiclus1_poststrat_total_enroll_by_stype", "apiclus1.csv", api_clus1, dclus1_ps,
               s_clus1, "total", "enroll", by = "stype", calibration = cal_ps)

# --- county: stratified two-stage PPS sample, lonely PSU, certainty strata ------------------
county_f <- county
for (v in names(margin_levels)) county_f[[v]] <- factor(county_f[[v]], levels = margin_levels[[v]])
dcounty <- svydesign(id = ~village, strata = ~stratum, weights = ~w, fpc = ~N_villages,
                     data = county_f)

lonely_fail <- tryCatch({
  svymean(~score, dcounty, na.rm = TRUE)
  NULL
}, error = function(e) conditionMessage(e))
stopifnot(!is.null(lonely_fail))

for (lonely in c("remove", "certainty", "adjust", "average")) {
  s_county <- spec("w", "stratum", "village", "N_villages", lonely)
  pre <- paste0("county_", lonely, "_")
  reference_case(paste0(pre, "mean_score"), "county.csv", county, dcounty, s_county, "mean", "score",
                 lonely = lonely)
  reference_case(paste0(pre, "total_literate"), "county.csv", county, dcounty, s_county, "total",
                 "literate", lonely = lonely)
  reference_case(paste0(pre, "mean_score_by_town"), "county.csv", county, dcounty, s_county, "mean",
                 "score", by = "town", lonely = lonely)
  reference_case(paste0(pre, "mean_score_by_sex_agegrp"), "county.csv", county, dcounty, s_county,
                 "mean", "score", by = c("sex", "agegrp"), lonely = lonely)
  reference_case(paste0(pre, "total_literate_by_urban"), "county.csv", county, dcounty, s_county,
                 "total", "literate", by = "urban", lonely = lonely)
  for (m in c("logit", "wald", "beta")) {
    reference_case(paste0(pre, "prop_literate_", m), "county.csv", county, dcounty, s_county,
                   "proportion", "literate", ci_method = m, lonely = lonely)
    reference_case(paste0(pre, "prop_literate_by_town_", m), "county.csv", county, dcounty, s_county,
                   "proportion", "literate", by = "town", ci_method = m, lonely = lonely)
  }
}

# Raking the county sample to its census margins (the platform's path).
county_pop <- c(`(Intercept)` = N)
for (v in names(margin_levels)) {
  tot <- margin_totals[[v]]
  names(tot) <- paste0(v, margin_levels[[v]])
  county_pop <- c(county_pop, tot[-1])
}
county_margins <- lapply(names(margin_levels), function(v) {
  list(column = v, levels = margin_levels[[v]], totals = num_vec(margin_totals[[v]]))
})
for (lonely in c("adjust", "average", "remove")) {
  old <- options(survey.lonely.psu = lonely)
  dcounty_rake <- calibrate(dcounty, ~town + sexage + urban + edu, county_pop, calfun = "raking",
                            epsilon = 1e-13, maxit = 200)
  options(old)
  cal_county <- calibration_spec("county_raking", "raking", county_margins, dcounty_rake)
  s_county <- spec("w", "stratum", "village", "N_villages", lonely)
  pre <- paste0("county_raked_", lonely, "_")
  for (m in c("logit", "wald", "beta")) {
    reference_case(paste0(pre, "prop_literate_", m), "county.csv", county, dcounty_rake, s_county,
                   "proportion", "literate", ci_method = m, lonely = lonely, calibration = cal_county)
  }
  for (b in list("town", c("sex", "agegrp"), "urban", "edu")) {
    for (m in c("logit", "wald")) {
      reference_case(paste0(pre, "prop_literate_by_", paste(b, collapse = "_"), "_", m), "county.csv",
                     county, dcounty_rake, s_county, "proportion", "literate", by = b, ci_method = m,
                     lonely = lonely, calibration = cal_county)
    }
  }
  reference_case(paste0(pre, "mean_score"), "county.csv", county, dcounty_rake, s_county, "mean",
                 "score", lonely = lonely, calibration = cal_county)
  reference_case(paste0(pre, "mean_score_by_edu"), "county.csv", county, dcounty_rake, s_county,
                 "mean", "score", by = "edu", lonely = lonely, calibration = cal_county)
  reference_case(paste0(pre, "total_literate_by_town"), "county.csv", county, dcounty_rake,
                 s_county, "total", "literate", by = "town", lonely = lonely, calibration = cal_county)
}

# =============================================================================================
# Phase 2: every interval method, ratios, multistage FPC, certainty PSUs, replicate weights,
# GREG and bounded calibration, trimming, nonresponse, contrasts between domains and waves
# =============================================================================================
extra <- list()
rep_spec <- function(method, file = NULL, scale = NULL, mse = FALSE, fay_rho = NULL,
                     hadamard = NULL) {
  list(method = method, file = file, scale = if (is.null(scale)) NULL else num(scale),
       mse = mse, fay_rho = fay_rho, hadamard = hadamard)
}
# Multipliers of a compressed replicate design, one row per PSU (first-appearance order).
export_multipliers <- function(rep, psu, name) {
  m <- rep$repweights$weights
  colnames(m) <- paste0("r", seq_len(ncol(m)))
  write.csv(data.frame(psu = unique(psu), m), file.path(out_dir, name), row.names = FALSE)
  name
}
row_psu <- function(data) seq_len(nrow(data))  # element sampling: a PSU is a row (1-based)

# --- every interval method for proportions ----------------------------------------------------
old <- options(survey.lonely.psu = "adjust")
dcounty_rake_adj <- calibrate(dcounty, ~town + sexage + urban + edu, county_pop, calfun = "raking",
                              epsilon = 1e-13, maxit = 200)
options(old)
cal_county_adj <- calibration_spec("county_raking", "raking", county_margins, dcounty_rake_adj)
s_county_adj <- spec("w", "stratum", "village", "N_villages", "adjust")
for (m in c("mean", "likelihood", "asin", "wilson")) {
  reference_case(paste0("apistrat_prop_sch_wide_", m), "apistrat.csv", api_strat, dstrat,
                 s_strat, "proportion", "sch_wide", ci_method = m)
  reference_case(paste0("apistrat_prop_sch_wide_by_awards_", m), "apistrat.csv", api_strat,
                 dstrat, s_strat, "proportion", "sch_wide", by = "awards", ci_method = m)
  reference_case(paste0("apiclus1_prop_comp_imp_by_stype_", m), "apiclus1.csv", api_clus1, dclus1,
                 s_clus1, "proportion", "comp_imp", by = "stype", ci_method = m)
  reference_case(paste0("apiclus1_raked_prop_comp_imp_by_awards_", m), "apiclus1.csv", api_clus1,
                 dclus1_rake, s_clus1, "proportion", "comp_imp", by = "awards", ci_method = m,
                 calibration = cal_clus1)
  reference_case(paste0("county_adjust_prop_literate_by_town_", m), "county.csv", county, dcounty,
                 s_county_adj, "proportion", "literate", by = "town", ci_method = m,
                 lonely = "adjust")
  reference_case(paste0("county_raked_adjust_prop_literate_by_edu_", m), "county.csv", county,
                 dcounty_rake_adj, s_county_adj, "proportion", "literate", by = "edu",
                 ci_method = m, lonely = "adjust", calibration = cal_county_adj)
}
reference_case("apistrat_prop_sch_wide_likelihood_90", "apistrat.csv", api_strat, dstrat, s_strat,
               "proportion", "sch_wide", ci_method = "likelihood", level = 0.9)

# --- ratios ------------------------------------------------------------------------------------
reference_case("apistrat_ratio_api00_api99", "apistrat.csv", api_strat, dstrat, s_strat, "ratio",
               "api00", denominator = "api99")
reference_case("apistrat_ratio_api00_api99_by_awards", "apistrat.csv", api_strat, dstrat, s_strat,
               "ratio", "api00", denominator = "api99", by = "awards")
reference_case("apiclus1_ratio_api00_api99_by_stype", "apiclus1.csv", api_clus1, dclus1, s_clus1,
               "ratio", "api00", denominator = "api99", by = "stype")
reference_case("apiclus1_raked_ratio_enroll_api99_by_stype", "apiclus1.csv", api_clus1, dclus1_rake,
               s_clus1, "ratio", "enroll", denominator = "api99", by = "stype",
               calibration = cal_clus1)
reference_case("county_adjust_ratio_literate_female_by_town", "county.csv", county, dcounty,
               s_county_adj, "ratio", "literate", denominator = "female", by = "town",
               lonely = "adjust")

# --- multistage FPC (R: svydesign(ids = ~psu + ssu, fpc = ~N1 + N2)) ----------------------------
dclus2_ms <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = api_clus2)
s_clus2_ms <- spec("pw", NULL, "dnum", c("fpc1", "fpc2"), ssu = "snum")
reference_case("apiclus2_twostage_mean_api00", "apiclus2.csv", api_clus2, dclus2_ms, s_clus2_ms,
               "mean", "api00")
reference_case("apiclus2_twostage_total_enroll_na", "apiclus2.csv", api_clus2, dclus2_ms,
               s_clus2_ms, "total", "enroll")
reference_case("apiclus2_twostage_mean_api00_by_stype", "apiclus2.csv", api_clus2, dclus2_ms,
               s_clus2_ms, "mean", "api00", by = "stype")
reference_case("apiclus2_twostage_prop_awards_by_stype_logit", "apiclus2.csv", api_clus2,
               dclus2_ms, s_clus2_ms, "proportion", "awards", by = "stype", ci_method = "logit")
dcounty_ms <- svydesign(ids = ~village + id, strata = ~stratum, weights = ~w,
                        fpc = ~N_villages + village_size, data = county_f)
s_county_ms <- spec("w", "stratum", "village", c("N_villages", "village_size"), "adjust",
                    ssu = "id")
reference_case("county_twostage_adjust_mean_score", "county.csv", county, dcounty_ms, s_county_ms,
               "mean", "score", lonely = "adjust")
reference_case("county_twostage_adjust_prop_literate_by_town_logit", "county.csv", county,
               dcounty_ms, s_county_ms, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust")
reference_case("county_twostage_adjust_total_literate_by_urban", "county.csv", county, dcounty_ms,
               s_county_ms, "total", "literate", by = "urban", lonely = "adjust")
old <- options(survey.lonely.psu = "adjust")
dcounty_ms_rake <- calibrate(dcounty_ms, ~town + sexage + urban + edu, county_pop,
                             calfun = "raking", epsilon = 1e-13, maxit = 200)
options(old)
reference_case("county_twostage_raked_adjust_prop_literate_by_sex_agegrp_logit", "county.csv",
               county, dcounty_ms_rake, s_county_ms, "proportion", "literate",
               by = c("sex", "agegrp"), ci_method = "logit", lonely = "adjust",
               calibration = cal_county_adj)

# --- certainty PSUs: their own stratum, no first-stage variance, respondents as second stage ---
county_cert <- county_f
county_cert$stratum_c <- ifelse(county$certainty == 1, paste0(county$stratum, "/", county$village),
                                county$stratum)
county_cert$N1c <- ifelse(county$certainty == 1, 1, Inf)
county_cert$N2c <- Inf
dcounty_cert <- svydesign(ids = ~village + id, strata = ~stratum_c, weights = ~w,
                          fpc = ~N1c + N2c, data = county_cert)
s_county_cert <- spec("w", "stratum", "village", NULL, "adjust", certainty = "certainty")
reference_case("county_certainty_adjust_mean_score", "county.csv", county, dcounty_cert,
               s_county_cert, "mean", "score", lonely = "adjust")
reference_case("county_certainty_adjust_prop_literate_by_town_logit", "county.csv", county,
               dcounty_cert, s_county_cert, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust")
reference_case("county_certainty_adjust_total_literate", "county.csv", county, dcounty_cert,
               s_county_cert, "total", "literate", lonely = "adjust")

# --- replicate weights -------------------------------------------------------------------------
rstrat_jkn <- as.svrepdesign(dstrat, type = "JKn")
r_jkn <- rep_spec("jkn")
reference_case("apistrat_jkn_mean_api00", "apistrat.csv", api_strat, rstrat_jkn, s_strat, "mean",
               "api00", replicates = r_jkn)
reference_case("apistrat_jkn_mean_api00_by_awards", "apistrat.csv", api_strat, rstrat_jkn, s_strat,
               "mean", "api00", by = "awards", replicates = r_jkn)
reference_case("apistrat_jkn_total_enroll", "apistrat.csv", api_strat, rstrat_jkn, s_strat,
               "total", "enroll", replicates = r_jkn)
reference_case("apistrat_jkn_ratio_api00_api99_by_stype", "apistrat.csv", api_strat, rstrat_jkn,
               s_strat, "ratio", "api00", denominator = "api99", by = "stype", replicates = r_jkn)
for (m in c("logit", "beta", "mean", "asin", "wilson")) {
  reference_case(paste0("apistrat_jkn_prop_sch_wide_by_awards_", m), "apistrat.csv", api_strat,
                 rstrat_jkn, s_strat, "proportion", "sch_wide", by = "awards", ci_method = m,
                 replicates = r_jkn)
}
rclus1_jk1 <- as.svrepdesign(dclus1, type = "JK1")
r_jk1 <- rep_spec("jk1")
reference_case("apiclus1_jk1_mean_api00", "apiclus1.csv", api_clus1, rclus1_jk1, s_clus1, "mean",
               "api00", replicates = r_jk1)
reference_case("apiclus1_jk1_prop_comp_imp_by_stype_logit", "apiclus1.csv", api_clus1, rclus1_jk1,
               s_clus1, "proportion", "comp_imp", by = "stype", ci_method = "logit",
               replicates = r_jk1)
rclus1_jk1_f <- as.svrepdesign(dclus1_f, type = "JK1")
rclus1_jk1_rake <- calibrate(rclus1_jk1_f, ~stype + sch_wide_f, pop_vec, calfun = "raking",
                             epsilon = 1e-13, maxit = 200)
reference_case("apiclus1_jk1_raked_mean_api00", "apiclus1.csv", api_clus1, rclus1_jk1_rake, s_clus1,
               "mean", "api00", calibration = cal_clus1, replicates = r_jk1)
reference_case("apiclus1_jk1_raked_mean_api00_by_stype", "apiclus1.csv", api_clus1,
               rclus1_jk1_rake, s_clus1, "mean", "api00", by = "stype", calibration = cal_clus1,
               replicates = r_jk1)
reference_case("apiclus1_jk1_raked_prop_comp_imp_by_awards_logit", "apiclus1.csv", api_clus1,
               rclus1_jk1_rake, s_clus1, "proportion", "comp_imp", by = "awards",
               ci_method = "logit", calibration = cal_clus1, replicates = r_jk1)

set.seed(20251130)
rstrat_boot <- as.svrepdesign(dstrat, type = "bootstrap", replicates = 60)
r_boot <- rep_spec("multipliers", export_multipliers(rstrat_boot, row_psu(api_strat),
                                                     "apistrat_bootstrap.csv"), rstrat_boot$scale)
reference_case("apistrat_bootstrap_mean_api00", "apistrat.csv", api_strat, rstrat_boot, s_strat,
               "mean", "api00", replicates = r_boot)
reference_case("apistrat_bootstrap_prop_sch_wide_by_awards_logit", "apistrat.csv", api_strat,
               rstrat_boot, s_strat, "proportion", "sch_wide", by = "awards", ci_method = "logit",
               replicates = r_boot)
rstrat_boot_mse <- rstrat_boot
rstrat_boot_mse$mse <- TRUE
r_boot_mse <- r_boot
r_boot_mse$mse <- TRUE
reference_case("apistrat_bootstrap_mse_mean_api00_by_stype", "apistrat.csv", api_strat,
               rstrat_boot_mse, s_strat, "mean", "api00", by = "stype", replicates = r_boot_mse)
rstrat_sub <- as.svrepdesign(dstrat, type = "subbootstrap", replicates = 40)
r_sub <- rep_spec("multipliers", export_multipliers(rstrat_sub, row_psu(api_strat),
                                                    "apistrat_subbootstrap.csv"), rstrat_sub$scale)
reference_case("apistrat_subbootstrap_mean_api00", "apistrat.csv", api_strat, rstrat_sub, s_strat,
               "mean", "api00", replicates = r_sub)
reference_case("apistrat_subbootstrap_total_enroll_by_awards", "apistrat.csv", api_strat,
               rstrat_sub, s_strat, "total", "enroll", by = "awards", replicates = r_sub)

old <- options(survey.lonely.psu = "adjust")
rcounty_jkn <- as.svrepdesign(dcounty, type = "JKn")
rcounty_jkn_rake <- calibrate(rcounty_jkn, ~town + sexage + urban + edu, county_pop,
                              calfun = "raking", epsilon = 1e-13, maxit = 200)
r_county_jkn <- rep_spec("jkn")
reference_case("county_jkn_adjust_mean_score", "county.csv", county, rcounty_jkn, s_county_adj,
               "mean", "score", lonely = "adjust", replicates = r_county_jkn)
reference_case("county_jkn_raked_adjust_prop_literate_by_town_logit", "county.csv", county,
               rcounty_jkn_rake, s_county_adj, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust", calibration = cal_county_adj,
               replicates = r_county_jkn)
reference_case("county_jkn_raked_adjust_mean_score_by_edu", "county.csv", county,
               rcounty_jkn_rake, s_county_adj, "mean", "score", by = "edu", lonely = "adjust",
               calibration = cal_county_adj, replicates = r_county_jkn)
set.seed(20251201)
rcounty_boot <- as.svrepdesign(dcounty, type = "bootstrap", replicates = 80)
r_county_boot <- rep_spec("multipliers", export_multipliers(rcounty_boot, county_f$village,
                                                            "county_bootstrap.csv"),
                          rcounty_boot$scale)
rcounty_boot_rake <- calibrate(rcounty_boot, ~town + sexage + urban + edu, county_pop,
                               calfun = "raking", epsilon = 1e-13, maxit = 200)
reference_case("county_bootstrap_raked_adjust_prop_literate_by_town_logit", "county.csv", county,
               rcounty_boot_rake, s_county_adj, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust", calibration = cal_county_adj,
               replicates = r_county_boot)
options(old)

# BRR and Fay on pairs of schools; R's own Hadamard matrix is passed both ways.
dpairs <- svydesign(id = ~snum, strata = ~vstrat, weights = ~pw, data = api_pairs)
H_pairs <- survey:::hadamard(100)
extra$hadamard_apipairs <- lapply(seq_len(nrow(H_pairs)), function(i) as.integer(H_pairs[i, ]))
rpairs_brr <- as.svrepdesign(dpairs, type = "BRR", hadamard.matrix = H_pairs)
rpairs_fay <- as.svrepdesign(dpairs, type = "Fay", fay.rho = 0.5, hadamard.matrix = H_pairs)
s_pairs <- spec("pw", "vstrat", "snum")
for (kind in list(list("brr", rpairs_brr, NULL), list("fay", rpairs_fay, 0.5))) {
  r <- rep_spec(kind[[1]], fay_rho = kind[[3]], hadamard = "apipairs")
  reference_case(paste0("apipairs_", kind[[1]], "_mean_api00"), "apipairs.csv", api_pairs,
                 kind[[2]], s_pairs, "mean", "api00", replicates = r)
  reference_case(paste0("apipairs_", kind[[1]], "_mean_api00_by_stype"), "apipairs.csv",
                 api_pairs, kind[[2]], s_pairs, "mean", "api00", by = "stype", replicates = r)
  reference_case(paste0("apipairs_", kind[[1]], "_prop_sch_wide_by_awards_logit"),
                 "apipairs.csv", api_pairs, kind[[2]], s_pairs, "proportion", "sch_wide",
                 by = "awards", ci_method = "logit", replicates = r)
}
# With full orthogonal balance, the BRR variance of a total does not depend on the Hadamard
# matrix: the same numbers must come from our own matrix.
reference_case("apipairs_brr_own_hadamard_total_enroll", "apipairs.csv", api_pairs, rpairs_brr,
               s_pairs, "total", "enroll", replicates = rep_spec("brr"))

# --- GREG (linear) and bounded calibration -----------------------------------------------------
pop_greg <- c(pop_vec[c("(Intercept)", "stypeH", "stypeM")], api99 = sum(apipop$api99))
calibrate_spec <- function(name, method, margins, numeric, des, bounds = NULL, trim = NULL) {
  calibrations[[name]] <<- list(method = method, margins = margins, numeric = numeric,
                                bounds = if (is.null(bounds)) NULL else num_vec(bounds),
                                trim = if (is.null(trim)) NULL else num_vec(trim),
                                weights = num_vec(weights(des)))
  name
}
numeric_spec <- function(column, total) list(list(column = column, total = num(total)))
dclus1_greg <- calibrate(dclus1_f, ~stype + api99, pop_greg)
cal_greg <- calibrate_spec("apiclus1_greg", "linear", list(margin_spec("stype", pop_stype)),
                           numeric_spec("api99", sum(apipop$api99)), dclus1_greg)
reference_case("apiclus1_greg_mean_api00", "apiclus1.csv", api_clus1, dclus1_greg, s_clus1, "mean",
               "api00", calibration = cal_greg)
reference_case("apiclus1_greg_total_enroll", "apiclus1.csv", api_clus1, dclus1_greg, s_clus1,
               "total", "enroll", calibration = cal_greg)
reference_case("apiclus1_greg_prop_comp_imp_by_stype_logit", "apiclus1.csv", api_clus1,
               dclus1_greg, s_clus1, "proportion", "comp_imp", by = "stype", ci_method = "logit",
               calibration = cal_greg)
for (f in c("linear", "raking", "logit")) {
  dcal <- calibrate(dclus1_f, ~stype + api99, pop_greg, calfun = f, bounds = c(0.6, 1.6),
                    epsilon = 1e-13, maxit = 500)
  name <- calibrate_spec(paste0("apiclus1_bounded_", f), f, list(margin_spec("stype", pop_stype)),
                         numeric_spec("api99", sum(apipop$api99)), dcal, bounds = c(0.6, 1.6))
  reference_case(paste0("apiclus1_bounded_", f, "_mean_api00"), "apiclus1.csv", api_clus1, dcal,
                 s_clus1, "mean", "api00", calibration = name)
  reference_case(paste0("apiclus1_bounded_", f, "_mean_api00_by_stype"), "apiclus1.csv",
                 api_clus1, dcal, s_clus1, "mean", "api00", by = "stype", calibration = name)
}
old <- options(survey.lonely.psu = "adjust")
dcounty_greg <- calibrate(dcounty, ~town + sexage + urban + edu, county_pop)
cal_county_greg <- calibrate_spec("county_linear", "linear", county_margins, NULL, dcounty_greg)
reference_case("county_linear_adjust_prop_literate_by_town_logit", "county.csv", county,
               dcounty_greg, s_county_adj, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust", calibration = cal_county_greg)
reference_case("county_linear_adjust_mean_score", "county.csv", county, dcounty_greg, s_county_adj,
               "mean", "score", lonely = "adjust", calibration = cal_county_greg)
for (f in c("linear", "raking", "logit")) {
  dcal <- calibrate(dcounty, ~town + sexage + urban + edu, county_pop, calfun = f,
                    bounds = c(0.82, 1.2), epsilon = 1e-13, maxit = 500)
  name <- calibrate_spec(paste0("county_bounded_", f), f, county_margins, NULL, dcal,
                         bounds = c(0.82, 1.2))
  reference_case(paste0("county_bounded_", f, "_adjust_prop_literate_by_town_logit"), "county.csv",
                 county, dcal, s_county_adj, "proportion", "literate", by = "town",
                 ci_method = "logit", lonely = "adjust", calibration = name)
}
rcounty_jkn_greg <- calibrate(rcounty_jkn, ~town + sexage + urban + edu, county_pop)
reference_case("county_jkn_linear_adjust_prop_literate_by_town_logit", "county.csv", county,
               rcounty_jkn_greg, s_county_adj, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust", calibration = cal_county_greg,
               replicates = r_county_jkn)

# --- trimming (R trimWeights: the excess shared equally among the other weights) ----------------
trim_bounds <- c(250, 1500)
dcounty_trim <- trimWeights(dcounty_rake_adj, lower = trim_bounds[1], upper = trim_bounds[2])
cal_trim <- calibrate_spec("county_raking_trimmed", "raking", county_margins, NULL, dcounty_trim,
                           trim = trim_bounds)
reference_case("county_trimmed_adjust_mean_score", "county.csv", county, dcounty_trim,
               s_county_adj, "mean", "score", lonely = "adjust", calibration = cal_trim)
reference_case("county_trimmed_adjust_prop_literate_by_town_logit", "county.csv", county,
               dcounty_trim, s_county_adj, "proportion", "literate", by = "town",
               ci_method = "logit", lonely = "adjust", calibration = cal_trim)
options(old)

# --- nonresponse adjustment by weighting classes: R's postStratify of the respondents to each
# class's sampled weight --------------------------------------------------------------------
respondents <- county_f[county$responded == 1, ]
class_totals <- tapply(county$w, list(county$town, county$urban), sum)
class_frame <- as.data.frame(as.table(class_totals))
names(class_frame) <- c("town", "urban", "Freq")
class_frame <- class_frame[!is.na(class_frame$Freq), ]
old <- options(survey.lonely.psu = "adjust")
dresp <- svydesign(ids = ~village, strata = ~stratum, weights = ~w, fpc = ~N_villages,
                   data = respondents)
dresp_nr <- postStratify(dresp, ~town + urban, class_frame)
options(old)
extra$nonresponse <- list(data = "county.csv", weights = "w", responded = "responded",
                          classes = c("town", "urban"),
                          respondent_ids = respondents$id,
                          adjusted_weights = num_vec(weights(dresp_nr)))

# --- differences between domains (svyby covmat + svycontrast) and between independent samples ---
contrast_case <- function(id, des, data_file, design_spec, variable, by, contrasts,
                          statistic = "mean", calibration = NULL, replicates = NULL,
                          lonely = "fail") {
  old <- options(survey.lonely.psu = lonely)
  on.exit(options(old))
  f <- as.formula(paste0("~", variable))
  fun <- if (statistic == "total") svytotal else svymean
  calibrated <- inherits(des, "survey.design2") && !is.null(des$postStrata)
  if (!calibrated) {
    b <- svyby(f, as.formula(paste0("~", by)), des, fun, covmat = TRUE)
    levels_b <- as.character(b[[by]])
    est_b <- coef(b)
    vcov_b <- vcov(b)
  } else {
    # svyby(covmat = TRUE) fails on calibrated designs in survey 4.1-1 (it keeps every row of
    # the domain subsets): take the joint covariance of the domain means from svyratio of
    # y * 1{d} over 1{d}, computed on the whole calibrated design.
    stopifnot(statistic == "mean")
    levels_b <- sort(unique(as.character(des$variables[[by]])))
    vars <- des$variables
    for (j in seq_along(levels_b)) {
      in_d <- as.numeric(vars[[by]] == levels_b[j])
      vars[[paste0("num_", j)]] <- vars[[variable]] * in_d
      vars[[paste0("den_", j)]] <- in_d
    }
    des$variables <- vars
    nums <- as.formula(paste0("~", paste0("num_", seq_along(levels_b), collapse = "+")))
    dens <- as.formula(paste0("~", paste0("den_", seq_along(levels_b), collapse = "+")))
    r <- svyratio(nums, dens, des, covmat = TRUE)
    k <- length(levels_b)
    pairs <- (seq_len(k) - 1) * k + seq_len(k)  # num_j / den_j in R's column order
    est_b <- as.vector(r$ratio)[pairs]
    vcov_b <- r$vcov[pairs, pairs]
  }
  out <- lapply(contrasts, function(cc) {
    coefs <- setNames(rep(0, length(levels_b)), levels_b)
    coefs[names(cc)] <- cc
    list(coefficients = as.list(cc), estimate = num(sum(coefs * est_b)),
         se = num(sqrt(as.numeric(t(coefs) %*% vcov_b %*% coefs))))
  })
  extra$contrasts[[length(extra$contrasts) + 1]] <<- list(
    id = id, data = data_file, design = design_spec, calibration = calibration,
    replicates = replicates, statistic = statistic, variable = variable, by = by,
    df = degf(des), results = out)
}
extra$contrasts <- list()
contrast_case("apiclus1_mean_api00_by_stype", dclus1, "apiclus1.csv", s_clus1, "api00", "stype",
              list(c(E = 1, H = -1), c(E = 1, M = -1), c(H = 1, M = -1),
                   c(E = 0.5, H = 0.5, M = -1)))
contrast_case("apiclus1_total_enroll_by_stype", dclus1, "apiclus1.csv", s_clus1, "enroll", "stype",
              list(c(E = 1, H = -1)), statistic = "total")
contrast_case("apistrat_mean_sch_wide_by_awards", dstrat, "apistrat.csv", s_strat, "sch_wide",
              "awards", list(c(Yes = 1, No = -1)))
contrast_case("county_raked_adjust_mean_female_by_town", dcounty_rake_adj, "county.csv",
              s_county_adj, "female", "town", list(c(T2 = 1, T1 = -1), c(T6 = 1, T3 = -1)),
              calibration = cal_county_adj, lonely = "adjust")
contrast_case("county_jkn_raked_adjust_mean_female_by_town", rcounty_jkn_rake, "county.csv",
              s_county_adj, "female", "town", list(c(T2 = 1, T1 = -1), c(T6 = 1, T3 = -1)),
              calibration = cal_county_adj, replicates = r_county_jkn, lonely = "adjust")
m1 <- svymean(~api00, dstrat)
m2 <- svymean(~api00, dclus1)
v1 <- as.numeric(vcov(m1)); v2 <- as.numeric(vcov(m2))
extra$waves <- list(current = "apistrat_mean_api00", previous = "apiclus1_mean_api00",
                    estimate = num(coef(m1) - coef(m2)), se = num(sqrt(v1 + v2)),
                    df = num((v1 + v2)^2 / (v1^2 / degf(dstrat) + v2^2 / degf(dclus1))))


reference <- list(
  generator = "tests/scoring/results/make_results.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  lonely_fail_message = lonely_fail,
  county_population = num(N),
  calibrations = calibrations,
  cases = cases,
  extra = extra
)
writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE, null = "null",
                  na = "null"),
           file.path(out_dir, "reference.json"))
cat("wrote", length(cases), "cases to", out_dir, "\n")
