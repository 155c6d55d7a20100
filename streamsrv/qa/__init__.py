"""QA scorecards: versioned templates per account, evaluations of interactions, calibration."""
