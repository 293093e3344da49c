"""MPC protocols (model.mpc) and their transformer simulations (sht24a.thm3_1)."""
