"""Prevalence estimators, agreement statistics, exports and reports for analysts."""
