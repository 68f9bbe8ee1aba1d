"""Analysis: prevalence estimators with honest intervals, agreement, suppression, provenance,
and the report (tables and charts) built from stored counts and review labels."""
