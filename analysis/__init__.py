"""Analysis: prevalence estimators with honest intervals, review sample design, agreement,
suppression, provenance, and the report (tables and charts) from stored counts and labels."""
