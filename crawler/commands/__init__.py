"""The `vemeter` command line, thin: one module per command group parses options, calls the
library below it and renders the result (tables, CSV, JSON) on stdout, progress on stderr."""
