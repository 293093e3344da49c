"""Lower and upper bounds as exact formulas, and finite witnesses on small instances."""
