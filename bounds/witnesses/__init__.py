"""Exact finite witnesses of lower bounds (docs/theorems.md section 9.2): Myhill-Nerode classes,
one-way communication complexity, ranks and fooling sets, n-gram witnesses."""
