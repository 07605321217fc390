# Reference numbers for tests/scoring, computed with R's `survey` package.
#
# Run from anywhere:  Rscript tests/scoring/results/make_results.R
# Writes, next to this script:
#   apistrat.csv, apiclus1.csv, apiclus2.csv  columns of R's `api` data used by the tests
#   county.csv                                a synthetic stratified two-stage county sample
#                                             generated here (set.seed), so Python reads the
#                                             very same rows
#   reference.json                            one entry per case: data file, design, optional
#                                             calibration (with R's calibrated weights), the
#                                             statistic and R's results per domain
#
# Conventions that the Python tests rely on:
# * every estimate uses na.rm = TRUE (a missing y drops out of the estimate, not the design);
# * domains come from svyby(); design df from degf() of the domain subset, as svyciprop uses;
# * Wald intervals for means and totals use qt(, degf) as confint(..., df = degf(design));
# * proportion intervals come from svyciprop(): "logit" is method = "xlogit", "wald" is
#   method = "mean", "beta" is method = "beta";
# * raking is calibrate(..., calfun = "raking"), post-stratification is postStratify().
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
  awards = as.character(apistrat$awards), comp_imp = yes01(apistrat$comp.imp)
)
api_clus1 <- data.frame(
  dnum = apiclus1$dnum, snum = apiclus1$snum, stype = as.character(apiclus1$stype),
  pw = apiclus1$pw, fpc = apiclus1$fpc, api00 = apiclus1$api00, enroll = apiclus1$enroll,
  avg_ed = apiclus1$avg.ed, sch_wide = yes01(apiclus1$sch.wide),
  sch_wide_f = as.character(apiclus1$sch.wide), awards = as.character(apiclus1$awards),
  comp_imp = yes01(apiclus1$comp.imp)
)
api_clus2 <- data.frame(
  dnum = apiclus2$dnum, snum = apiclus2$snum, stype = as.character(apiclus2$stype),
  pw = apiclus2$pw, fpc1 = apiclus2$fpc1, api00 = apiclus2$api00,
  enroll = apiclus2$enroll, acs_k3 = apiclus2$acs.k3, awards = yes01(apiclus2$awards)
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
               pi = pi1[v] * m / f$size[v], stringsAsFactors = FALSE)
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
county <- county[, c("id", "stratum", "town", "urban", "village", "N_villages", "pi", "w",
                     "sex", "agegrp", "sexage", "edu", "score", "literate")]

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

write_data(api_strat, "apistrat.csv")
write_data(api_clus1, "apiclus1.csv")
write_data(api_clus2, "apiclus2.csv")
write_data(county, "county.csv")

# ---------------------------------------------------------------------------------------------
# Reference cases
# ---------------------------------------------------------------------------------------------
cases <- list()
add_case <- function(case) cases[[length(cases) + 1]] <<- case
calibrations <- list()

r_ci_method <- c(logit = "xlogit", wald = "mean", beta = "beta")

# One case: statistic of `variable` over the whole design or svyby() domains.
reference_case <- function(id, data_file, data, des, design_spec, statistic, variable,
                           by = NULL, ci_method = "wald", level = 0.95, lonely = "fail",
                           calibration = NULL) {
  old <- options(survey.lonely.psu = lonely)
  on.exit(options(old))
  f <- as.formula(paste0("~", variable))
  y <- data[[variable]]
  w <- weights(des)
  fun <- if (statistic == "total") svytotal else svymean
  if (is.null(by)) {
    stat <- fun(f, des, na.rm = TRUE, deff = TRUE)
    masks <- list(rep(TRUE, nrow(data)))
    domains <- list(NULL)
    est <- coef(stat); se <- SE(stat); deffs <- deff(stat)
    if (statistic == "proportion") {
      ci <- svyciprop(f, des, method = r_ci_method[[ci_method]], level = level, na.rm = TRUE)
      stopifnot(abs(coef(ci) - est) < 1e-12)
      lo <- attr(ci, "ci")[1]; hi <- attr(ci, "ci")[2]
    } else {
      ci <- confint(stat, level = level, df = degf(des))
      lo <- ci[1, 1]; hi <- ci[1, 2]
    }
  } else {
    byf <- as.formula(paste0("~", paste(by, collapse = "+")))
    stat <- svyby(f, byf, des, fun, na.rm = TRUE, deff = TRUE, keep.names = FALSE)
    keys <- stat[, by, drop = FALSE]
    est <- coef(stat); se <- SE(stat); deffs <- deff(stat)
    masks <- lapply(seq_len(nrow(keys)), function(k) {
      m <- rep(TRUE, nrow(data))
      for (b in by) m <- m & data[[b]] == as.character(keys[k, b])
      m
    })
    domains <- lapply(seq_len(nrow(keys)), function(k) as.character(unlist(keys[k, ])))
    if (statistic == "proportion") {
      ci <- svyby(f, byf, des, svyciprop, method = r_ci_method[[ci_method]], level = level,
                  vartype = "ci", na.rm = TRUE, keep.names = FALSE)
      stopifnot(all(abs(coef(ci) - est) < 1e-12))
      lo <- ci$ci_l; hi <- ci$ci_u
    } else {
      dfs <- vapply(masks, function(m) degf(des[m, ]), 1)
      q <- qt(1 - (1 - level) / 2, dfs)
      lo <- est - q * se; hi <- est + q * se
    }
  }
  results <- lapply(seq_along(masks), function(k) {
    m <- masks[[k]]
    ok <- m & !is.na(y)
    list(domain = domains[[k]], estimate = num(est[k]), se = num(se[k]),
         ci_low = num(lo[k]), ci_high = num(hi[k]), df = degf(des[m, ]),
         deff = num(deffs[k]), n = sum(ok), n_domain = sum(m), weighted_n = num(sum(w[ok])))
  })
  add_case(list(id = id, data = data_file, design = design_spec, calibration = calibration,
                statistic = statistic, variable = variable, by = by, ci_method = ci_method,
                level = num(level), results = results))
}

spec <- function(weights, strata = NULL, psu = NULL, fpc = NULL, lonely = "fail") {
  list(weights = weights, strata = strata, psu = psu, fpc = fpc, lonely_psu = lonely)
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

reference <- list(
  generator = "tests/scoring/results/make_results.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  lonely_fail_message = lonely_fail,
  county_population = num(N),
  calibrations = calibrations,
  cases = cases
)
writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE, null = "null",
                  na = "null"),
           file.path(out_dir, "reference.json"))
cat("wrote", length(cases), "cases to", out_dir, "\n")
