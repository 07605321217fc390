"""Pages, one module per audience: site (home), respondent, officials."""
