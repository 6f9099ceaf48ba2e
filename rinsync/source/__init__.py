"""Where catalogs come from: the HTTP fetch with its cache, and the catalog file format."""
