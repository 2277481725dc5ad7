"""The analysts' search (words, meaning, filters, facets) and watches."""
